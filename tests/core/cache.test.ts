import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Cache, createCache, LockBusyError } from '../../src/core/cache.ts'
import { DependencyException } from '../../src/exceptions.ts'
import { removeRedisKeys, testKeyPrefix } from '../support/redis.ts'
import { serviceAvailable } from '../support/services.ts'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const redisUp = await serviceAvailable(REDIS_URL, 'Redis')
/** Every Redis key of this run starts with this; removed in afterAll. */
const RUN_PREFIX = testKeyPrefix()

let prefixes = 0
function uniquePrefix(): string {
  prefixes += 1
  return `${RUN_PREFIX}${prefixes}:`
}

/** The contract every cache adapter honours; `make` returns a fresh, empty cache each time. */
function cacheContract(make: () => Cache): void {
  let cache: Cache
  beforeEach(() => {
    cache = make()
  })
  afterEach(() => cache.close())

  it('stores and reads strings, overwrites, and answers null for a missing key', async () => {
    expect(await cache.get('greeting')).toBeNull()
    await cache.set('greeting', 'hello')
    expect(await cache.get('greeting')).toBe('hello')
    await cache.set('greeting', 'bonjour')
    expect(await cache.get('greeting')).toBe('bonjour')
  })

  it('answers many reads made at once, each with its own key', async () => {
    const keys = Array.from({ length: 250 }, (_, i) => `many:${i}`)
    await Promise.all(keys.filter((_, i) => i % 3 !== 0).map((key) => cache.set(key, key.toUpperCase())))
    const values = await Promise.all(keys.map((key) => cache.get(key)))
    expect(values).toEqual(keys.map((key, i) => (i % 3 === 0 ? null : key.toUpperCase())))
  })

  it('expires a value after its TTL; a rewrite without TTL keeps it', async () => {
    await cache.set('short', 'v', 0.15)
    await cache.set('kept', 'v', 0.15)
    await cache.set('kept', 'w')
    await cache.set('forever', 'v')
    expect(await cache.get('short')).toBe('v')
    await sleep(300)
    expect(await cache.get('short')).toBeNull()
    expect(await cache.get('kept')).toBe('w')
    expect(await cache.get('forever')).toBe('v')
  })

  it('refuses a TTL that is not positive', async () => {
    await expect(cache.set('x', 'y', 0)).rejects.toBeInstanceOf(RangeError)
    await expect(cache.incr('x', -1)).rejects.toBeInstanceOf(RangeError)
    await expect(cache.acquireLock('x', 0)).rejects.toBeInstanceOf(RangeError)
  })

  it('round-trips JSON values', async () => {
    const value = { id: 7, tags: ['a', 'b'], nested: { ok: true, none: null }, title: 'Ünïcode ✓' }
    await cache.setJson('post:7', value, 60)
    expect(await cache.getJson<typeof value>('post:7')).toEqual(value)
    expect(await cache.getJson('post:8')).toBeNull()
  })

  it('deletes keys and counts those that existed', async () => {
    await cache.set('a', '1')
    await cache.set('b', '2')
    expect(await cache.del('a', 'b', 'missing')).toBe(2)
    expect(await cache.get('a')).toBeNull()
    expect(await cache.get('b')).toBeNull()
    expect(await cache.del()).toBe(0)
  })

  it('deletes by prefix only the matching keys, glob characters taken literally', async () => {
    for (const key of ['user:1', 'user:2', 'user:10', 'users', 'post:1', 'g*1', 'g*2', 'gx']) {
      await cache.set(key, key)
    }
    expect(await cache.delPrefix('user:')).toBe(3)
    expect(await cache.delPrefix('g*')).toBe(2)
    expect(await cache.get('user:1')).toBeNull()
    expect(await cache.get('user:10')).toBeNull()
    expect(await cache.get('users')).toBe('users')
    expect(await cache.get('post:1')).toBe('post:1')
    expect(await cache.get('gx')).toBe('gx')
    expect(await cache.delPrefix('nothing:')).toBe(0)
  })

  it('invalidates every value filed under a tag and nothing else', async () => {
    await cache.setJson('p1', { n: 1 }, 60, ['posts'])
    await cache.setJson('p2', { n: 2 }, undefined, ['posts', 'author:1'])
    await cache.setJson('p3', { n: 3 }, 60, ['other'])
    await cache.set('plain', 'x')
    expect(await cache.invalidateTag('posts')).toBe(2)
    expect(await cache.getJson('p1')).toBeNull()
    expect(await cache.getJson('p2')).toBeNull()
    expect(await cache.getJson('p3')).toEqual({ n: 3 })
    expect(await cache.get('plain')).toBe('x')
    expect(await cache.invalidateTag('posts')).toBe(0)
    expect(await cache.invalidateTag('author:1')).toBe(0)
  })

  it('stores one value under several keys with one TTL, filed under every tag', async () => {
    await cache.setMany(['m1', 'm2'], 'same', 0.3, ['many', 'author:9'])
    await cache.setMany(['m3'], 'kept', undefined, ['other'])
    await cache.setMany(['m4', 'm5'], 'untagged')
    expect([await cache.get('m1'), await cache.get('m2'), await cache.get('m4')]).toEqual([
      'same',
      'same',
      'untagged',
    ])
    expect(await cache.invalidateTag('many')).toBe(2)
    expect([await cache.get('m1'), await cache.get('m2'), await cache.get('m3')]).toEqual([
      null,
      null,
      'kept',
    ])
    await cache.setMany(['m6', 'm7'], 'brief', 0.05, ['author:9'])
    await sleep(150)
    expect([await cache.get('m6'), await cache.get('m7')]).toEqual([null, null])
    expect(await cache.get('m5')).toBe('untagged')
    await expect(cache.setMany(['m8'], 'x', 0)).rejects.toThrow(RangeError)
  })

  it('counts in a fixed window whose expiry is set only when the counter is created', async () => {
    const first = await cache.incr('hits', 60)
    expect(first.count).toBe(1)
    expect(first.ttlMs).toBeGreaterThan(59_000)
    expect(first.ttlMs).toBeLessThanOrEqual(60_000)
    expect((await cache.incr('hits', 60)).count).toBe(2)

    await cache.incr('window', 0.4)
    await sleep(200)
    const later = await cache.incr('window', 0.4)
    expect(later.count).toBe(2)
    expect(later.ttlMs).toBeLessThanOrEqual(250)
    await sleep(300)
    expect(await cache.incr('window', 0.4)).toMatchObject({ count: 1 })
  })

  it('adds several hits at once, starting the window like a single one', async () => {
    const batch = await cache.incr('several', 60, 5)
    expect(batch.count).toBe(5)
    expect(batch.ttlMs).toBeGreaterThan(59_000)
    expect((await cache.incr('several', 60, 3)).count).toBe(8)
    expect((await cache.incr('several', 60)).count).toBe(9)
  })

  it('increments atomically under concurrency', async () => {
    const results = await Promise.all(Array.from({ length: 100 }, () => cache.incr('burst', 60)))
    const counts = results.map((r) => r.count).sort((a, b) => a - b)
    expect(counts).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
  })

  it('refuses to increment a value that is not an integer, as a bug rather than an outage', async () => {
    await cache.set('word', 'abc')
    const error = await cache.incr('word', 60).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(error).not.toBeInstanceOf(DependencyException)
  })

  it('grants a lock to exactly one of 50 concurrent contenders', async () => {
    const tokens = await Promise.all(Array.from({ length: 50 }, () => cache.acquireLock('job', 5_000)))
    const winners = tokens.filter((t): t is string => t !== null)
    expect(winners).toHaveLength(1)
    expect(await cache.acquireLock('job', 5_000)).toBeNull()
    expect(await cache.releaseLock('job', winners[0]!)).toBe(true)
    expect(await cache.acquireLock('job', 5_000)).toEqual(expect.any(String))
  })

  it('runs withLock critical sections one at a time', async () => {
    let inFlight = 0
    let maxInFlight = 0
    const increment = () =>
      cache.withLock(
        'counter',
        2_000,
        async () => {
          inFlight += 1
          maxInFlight = Math.max(maxInFlight, inFlight)
          const current = Number((await cache.get('counter')) ?? '0')
          await sleep(2)
          await cache.set('counter', String(current + 1))
          inFlight -= 1
          return current + 1
        },
        { waitMs: 10_000 },
      )
    const returned = await Promise.all(Array.from({ length: 25 }, increment))
    expect(await cache.get('counter')).toBe('25')
    expect(maxInFlight).toBe(1)
    expect(returned.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))
  })

  it('gives up with LockBusyError after waitMs, and releases the lock when fn throws', async () => {
    const holder = await cache.acquireLock('busy', 5_000)
    const started = performance.now()
    const busy = await cache.withLock('busy', 1_000, async () => 'ran', { waitMs: 150 }).catch((e) => e)
    expect(busy).toBeInstanceOf(LockBusyError)
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
    await cache.releaseLock('busy', holder!)

    await expect(
      cache.withLock('busy', 1_000, async () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(await cache.acquireLock('busy', 1_000)).toEqual(expect.any(String))
  })

  it("refuses a non-holder's release and renewal, and the lock survives", async () => {
    const token = await cache.acquireLock('owned', 5_000)
    expect(token).toEqual(expect.any(String))
    expect(await cache.releaseLock('owned', 'not-the-token')).toBe(false)
    expect(await cache.renewLock('owned', 'not-the-token', 60_000)).toBe(false)
    expect(await cache.acquireLock('owned', 5_000)).toBeNull()
    expect(await cache.releaseLock('owned', token!)).toBe(true)
    expect(await cache.releaseLock('owned', token!)).toBe(false)
  })

  it('extends a lock on renewal; an unrenewed lock expires and its old token is void', async () => {
    const token = await cache.acquireLock('renewed', 200)
    await sleep(100)
    expect(await cache.renewLock('renewed', token!, 1_000)).toBe(true)
    await sleep(250)
    expect(await cache.acquireLock('renewed', 1_000)).toBeNull()

    const stale = await cache.acquireLock('lapsing', 100)
    await sleep(200)
    const fresh = await cache.acquireLock('lapsing', 1_000)
    expect(fresh).toEqual(expect.any(String))
    expect(await cache.releaseLock('lapsing', stale!)).toBe(false)
    expect(await cache.renewLock('lapsing', stale!, 1_000)).toBe(false)
    expect(await cache.acquireLock('lapsing', 1_000)).toBeNull()
  })

  it('keeps renewing a withLock lock while fn outlasts its TTL', async () => {
    const outcome = await cache.withLock('long', 150, async (signal) => {
      await sleep(450)
      return { contender: await cache.acquireLock('long', 1_000), aborted: signal.aborted }
    })
    expect(outcome).toEqual({ contender: null, aborted: false })
    expect(await cache.acquireLock('long', 1_000)).toEqual(expect.any(String))
  })

  it('answers ping while open and fails as a dependency once closed', async () => {
    await expect(cache.ping(1_000)).resolves.toBeUndefined()
    await cache.close()
    await expect(cache.get('any')).rejects.toBeInstanceOf(DependencyException)
    await expect(cache.ping(1_000)).rejects.toBeInstanceOf(DependencyException)
  })
}

describe('in-process cache', () => {
  cacheContract(() => createCache({ url: undefined, keyPrefix: 'unused:' }))

  it('reports the embedded mode', async () => {
    const cache = createCache({ url: undefined, keyPrefix: '' })
    expect(cache.mode).toBe('embedded')
    await cache.close()
  })
})

describe.runIf(redisUp)('Redis cache', () => {
  afterAll(() => removeRedisKeys(REDIS_URL, RUN_PREFIX))

  cacheContract(() => createCache({ url: REDIS_URL, keyPrefix: uniquePrefix() }))
})
