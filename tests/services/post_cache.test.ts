import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { Cache } from '../../src/core/cache.ts'
import { createMemoryCache } from '../../src/core/cache_memory.ts'
import { DependencyException } from '../../src/exceptions.ts'
import { PostCache } from '../../src/services/post_cache.ts'
import type { PostPageView, PostView } from '../../src/services/post_view.ts'

const VIEW: PostView = {
  id: '0190a0a0-0000-7000-8000-00000000000a',
  title: 'Cached',
  slug: 'cached',
  summary: null,
  content: '<p>x</p>',
  status: 'published',
  tags: [],
  coverKey: null,
  publishedAt: '2026-11-25T03:04:05.123Z',
  createdAt: '2026-11-25T03:04:05.123Z',
  updatedAt: '2026-11-25T03:04:05.123Z',
  author: { id: '0190a0a0-0000-7000-8000-00000000000b', username: 'ann', fullName: null, avatarKey: null },
}

/** A logger keeping its lines. */
function capturing() {
  const lines: Record<string, unknown>[] = []
  const log = pino({}, { write: (chunk: string) => lines.push(JSON.parse(chunk)) })
  return { log: log as unknown as FastifyBaseLogger, lines }
}

/** `cache` with some methods replaced; the others still run on `cache` itself. */
function overriding(cache: Cache, overrides: Partial<Cache>): Cache {
  return new Proxy(cache, {
    get(target, property: keyof Cache) {
      const value = overrides[property] ?? target[property]
      return typeof value === 'function' && !(property in overrides) ? value.bind(target) : value
    },
  })
}

/** The in-process cache with `setMany` (what PostCache writes with) replaced. */
function cacheWithSet(setMany: Cache['setMany']): Cache {
  return overriding(createMemoryCache(), { setMany })
}

/** A database stand-in: answers `view` and counts its reads. */
function database(view: PostView | null) {
  const reads = { count: 0 }
  return {
    reads,
    load: async () => {
      reads.count += 1
      return view
    },
  }
}

/** Lets a fire-and-forget cache write land. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10))

describe('PostCache reads of one post', () => {
  it('asks the database the first time, the cache from the second (caching a miss), then hits', async () => {
    const cache = createMemoryCache()
    const asked: string[] = []
    const watched = overriding(cache, {
      getJson: <T>(key: string) => {
        asked.push(key)
        return cache.getJson<T>(key)
      },
    })
    const posts = new PostCache({ cache: watched, log: capturing().log })
    const db = database(VIEW)
    expect(await posts.byId(VIEW.id, db.load)).toEqual(VIEW)
    expect(asked).toEqual([])
    expect(await cache.get(`post:id:${VIEW.id}`)).toBeNull()
    expect(await posts.byId(VIEW.id, db.load)).toEqual(VIEW)
    await settle()
    expect(asked).toEqual([`post:id:${VIEW.id}`])
    expect(await posts.byId(VIEW.id, db.load)).toEqual(VIEW)
    expect(db.reads.count).toBe(2)
    // The write-back filed it under its slug too, which this process now reads from the cache at once.
    expect(await posts.bySlug(VIEW.slug, db.load)).toEqual(VIEW)
    expect(db.reads.count).toBe(2)
  })

  it('forgets the oldest keys once it remembers its maximum', async () => {
    const posts = new PostCache({ cache: createMemoryCache(), log: capturing().log, recentLookupsMax: 2 })
    const db = database({ ...VIEW, id: 'a' })
    for (const id of ['a', 'b', 'c']) await posts.byId(id, db.load)
    await posts.byId('a', db.load) // forgotten: a first look-up again
    await posts.byId('a', db.load) // a second look-up: misses, caches
    await settle()
    expect(db.reads.count).toBe(5)
    expect(await posts.byId('a', db.load)).toMatchObject({ id: 'a' })
    expect(db.reads.count).toBe(5)
  })

  it('returns before the write-back completes, and the write lands under the id and the slug', async () => {
    const cache = createMemoryCache()
    let release = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slow = cacheWithSet(async (...args) => {
      await gate
      return cache.setMany(...args)
    })
    const posts = new PostCache({ cache: slow, log: capturing().log })
    const db = database(VIEW)
    await posts.byId(VIEW.id, db.load)
    expect(await posts.byId(VIEW.id, db.load)).toEqual(VIEW)
    expect(await cache.get(`post:id:${VIEW.id}`)).toBeNull()
    release()
    await settle()
    expect(await cache.getJson(`post:id:${VIEW.id}`)).toEqual(VIEW)
    expect(await cache.getJson(`post:slug:${VIEW.slug}`)).toEqual(VIEW)
  })

  it('caches nothing but published posts, and nothing for an absent one', async () => {
    const cache = createMemoryCache()
    const posts = new PostCache({ cache, log: capturing().log })
    const draft = database({ ...VIEW, status: 'draft' })
    const absent = database(null)
    for (let read = 0; read < 3; read++) {
      expect(await posts.byId(VIEW.id, draft.load)).toMatchObject({ status: 'draft' })
      expect(await posts.bySlug('gone', absent.load)).toBeNull()
    }
    await settle()
    expect([draft.reads.count, absent.reads.count]).toEqual([3, 3])
    expect(await cache.get(`post:id:${VIEW.id}`)).toBeNull()
  })

  it('reads the database when the cache is down, and logs a failed write instead of throwing it', async () => {
    const { log, lines } = capturing()
    const downCache = overriding(createMemoryCache(), {
      setMany: () => Promise.reject(new Error('bug')),
      getJson: () => Promise.reject(new DependencyException('cache', new Error('down'))),
    })
    const posts = new PostCache({ cache: downCache, log })
    const db = database(VIEW)
    for (let read = 0; read < 2; read++) expect(await posts.byId(VIEW.id, db.load)).toEqual(VIEW)
    await settle()
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [40, 'post cache unavailable: using the database'],
      [50, 'post cache write failed'],
    ])
  })
})

describe('PostCache list pages', () => {
  const PAGE: PostPageView = { items: [VIEW], total: 1 }

  /** A load that waits for `release()`, counting its calls. */
  function gatedLoad(value: PostPageView = PAGE) {
    const calls = { count: 0 }
    let release = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const load = async () => {
      calls.count += 1
      await gate
      return value
    }
    return { calls, load, release: () => release() }
  }

  it('loads a missing page once for ten concurrent requests, and caches it', async () => {
    const cache = createMemoryCache()
    const posts = new PostCache({ cache, log: capturing().log })
    const { calls, load, release } = gatedLoad()
    const pages = Array.from({ length: 10 }, () => posts.listPage(1, 20, load))
    await settle()
    release()
    expect(await Promise.all(pages)).toEqual(Array(10).fill(PAGE))
    expect(calls.count).toBe(1)
    expect(await cache.getJson('posts:list:1:20')).toEqual(PAGE)
    expect(await posts.listPage(1, 20, load)).toEqual(PAGE)
    expect(calls.count).toBe(1)
  })

  it('starts a new load after a change, and a load begun before it writes nothing back', async () => {
    const cache = createMemoryCache()
    const posts = new PostCache({ cache, log: capturing().log })
    const before = gatedLoad({ items: [], total: 0 })
    const stale = posts.listPage(1, 20, before.load)
    await settle()
    await posts.forgetPost(VIEW.id, true)
    const after = gatedLoad()
    const fresh = posts.listPage(1, 20, after.load)
    await settle()
    after.release()
    expect(await fresh).toEqual(PAGE)
    before.release()
    expect(await stale).toEqual({ items: [], total: 0 })
    expect(await cache.getJson('posts:list:1:20')).toEqual(PAGE)
    expect([before.calls.count, after.calls.count]).toEqual([1, 1])
  })

  it('fails every request sharing a failed load, and the next request loads again', async () => {
    const posts = new PostCache({ cache: createMemoryCache(), log: capturing().log })
    let calls = 0
    const failing = async (): Promise<PostPageView> => {
      calls += 1
      await settle()
      throw new Error('database down')
    }
    const shared = [posts.listPage(2, 20, failing), posts.listPage(2, 20, failing)]
    for (const page of shared) await expect(page).rejects.toThrow('database down')
    expect(await posts.listPage(2, 20, async () => PAGE)).toEqual(PAGE)
    expect(calls).toBe(1)
  })
})
