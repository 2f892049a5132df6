import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createCache } from '../../src/core/cache.ts'
import { DependencyException } from '../../src/exceptions.ts'
import { removeRedisKeys, startRedisProxy, testKeyPrefix } from '../support/redis.ts'
import { serviceAvailable } from '../support/services.ts'

// The Redis adapter's own behaviour; the contract it shares with the in-process adapter is in cache.test.ts.

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const redisUp = await serviceAvailable(REDIS_URL, 'Redis')
const RUN_PREFIX = testKeyPrefix()

let prefixes = 0
function uniquePrefix(): string {
  prefixes += 1
  return `${RUN_PREFIX}${prefixes}:`
}

describe.runIf(redisUp)('Redis cache adapter', () => {
  afterAll(() => removeRedisKeys(REDIS_URL, RUN_PREFIX))

  it('reports the external mode and keeps its keys under its prefix', async () => {
    const prefix = uniquePrefix()
    const cache = createCache({ url: REDIS_URL, keyPrefix: prefix })
    expect(cache.mode).toBe('external')
    await cache.set('visible', 'yes')
    const raw = new Redis(REDIS_URL)
    expect(await raw.get(`${prefix}data:visible`)).toBe('yes')
    raw.disconnect()
    await cache.close()
  })

  it('sends the reads of one event-loop turn as one MGET, and the next turn its own', async () => {
    const upstream = new URL(REDIS_URL)
    const proxy = await startRedisProxy(upstream.hostname, Number(upstream.port || 6379))
    const cache = createCache({ url: `redis://127.0.0.1:${proxy.port}`, keyPrefix: uniquePrefix() })
    try {
      await cache.set('a', '1')
      await cache.set('b', '2')
      proxy.takeWrites()
      expect(
        await Promise.all([cache.get('a'), cache.get('missing'), cache.get('b'), cache.get('a')]),
      ).toEqual(['1', null, '2', '1'])
      expect(await cache.get('b')).toBe('2')
      const commands = proxy
        .takeWrites()
        .map((write) => write.split('\r\n').filter((_, i) => i % 2 === 0 && i > 0))
      expect(commands.map((parts) => parts.map((part) => part.replace(/^.*data:/, '')))).toEqual([
        ['mget', 'a', 'missing', 'b', 'a'],
        ['mget', 'b'],
      ])
    } finally {
      await cache.close()
      await proxy.stop()
    }
  })

  it('fails fast while Redis is unreachable and reconnects by itself when it returns', async () => {
    const upstream = new URL(REDIS_URL)
    const proxy = await startRedisProxy(upstream.hostname, Number(upstream.port || 6379))
    const events: string[] = []
    const log = { warn: () => events.push('warn'), info: () => events.push('info') }
    const cache = createCache({ url: `redis://127.0.0.1:${proxy.port}`, keyPrefix: uniquePrefix(), log })
    try {
      await cache.set('survivor', 'here')
      await proxy.stop()
      await sleep(50)

      const started = performance.now()
      await expect(cache.get('survivor')).rejects.toBeInstanceOf(DependencyException)
      expect(performance.now() - started).toBeLessThan(1_000)
      await sleep(500) // several failed reconnection attempts, logged once
      expect(events).toEqual(['warn'])

      await proxy.restart()
      let value: string | null = null
      const deadline = Date.now() + 5_000
      while (value === null && Date.now() < deadline) {
        value = await cache.get('survivor').catch(() => null)
        if (value === null) await sleep(100)
      }
      expect(value).toBe('here')
      expect(events).toEqual(['warn', 'info'])
    } finally {
      await cache.close()
      await proxy.stop()
    }
  })
})

describe('Redis cache when Redis is unreachable', () => {
  it('is created without throwing and rejects every call with DependencyException within 1 s', async () => {
    const cache = createCache({ url: 'redis://127.0.0.1:1', keyPrefix: uniquePrefix() })
    try {
      expect(cache.mode).toBe('external')
      let first = true
      for (const call of [
        () => cache.get('k'),
        () => cache.set('k', 'v', 10),
        () => cache.incr('k', 10),
        () => cache.acquireLock('k', 1_000),
        () => cache.ping(1_000),
      ]) {
        const started = performance.now()
        const error = await call().catch((e: unknown) => e)
        // The first call waits for the connection attempt; once Redis is known down, calls fail at once.
        expect(performance.now() - started).toBeLessThan(first ? 1_000 : 200)
        first = false
        expect(error).toBeInstanceOf(DependencyException)
        expect(error).toMatchObject({ statusCode: 503, detail: { dependency: 'cache' } })
      }
    } finally {
      await cache.close()
    }
  })
})
