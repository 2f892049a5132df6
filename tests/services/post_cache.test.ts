import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { Cache } from '../../src/core/cache.ts'
import { createMemoryCache } from '../../src/core/cache_memory.ts'
import { DependencyException } from '../../src/exceptions.ts'
import { PostCache } from '../../src/services/post_cache.ts'
import type { PostView } from '../../src/services/post_view.ts'

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

/** The in-process cache with `setMany` (what PostCache writes with) replaced. */
function cacheWithSet(setMany: Cache['setMany']): Cache {
  const cache = createMemoryCache()
  return Object.assign(Object.create(cache), { setMany })
}

/** Lets a fire-and-forget cache write land. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10))

describe('PostCache.fill', () => {
  it('caches a post from its second read, not its first', async () => {
    const cache = createMemoryCache()
    const posts = new PostCache({ cache, log: capturing().log })
    posts.fill(VIEW)
    await settle()
    expect(await posts.byId(VIEW.id)).toBeNull()
    posts.fill({ ...VIEW, title: 'Read again' })
    await settle()
    expect(await posts.byId(VIEW.id)).toEqual({ ...VIEW, title: 'Read again' })
    expect(await posts.bySlug(VIEW.slug)).toEqual({ ...VIEW, title: 'Read again' })
  })

  it('counts reads per post and forgets the oldest once it remembers its maximum', async () => {
    const cache = createMemoryCache()
    const posts = new PostCache({ cache, log: capturing().log, recentMissesMax: 2 })
    const other = (n: number) => ({ ...VIEW, id: `0190a0a0-0000-7000-8000-00000000010${n}`, slug: `s${n}` })
    posts.fill(VIEW)
    posts.fill(other(1))
    posts.fill(other(2))
    posts.fill(VIEW)
    posts.fill(other(2))
    await settle()
    expect(await posts.byId(VIEW.id)).toBeNull()
    expect(await posts.byId(other(1).id)).toBeNull()
    expect(await posts.byId(other(2).id)).toEqual(other(2))
  })

  it('returns before the write completes, and the write lands under the id and the slug', async () => {
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
    posts.fill(VIEW)
    expect(posts.fill(VIEW)).toBeUndefined()
    expect(await cache.get(`post:id:${VIEW.id}`)).toBeNull()
    release()
    await settle()
    const reader = new PostCache({ cache, log: capturing().log })
    expect(await reader.byId(VIEW.id)).toEqual(VIEW)
    expect(await reader.bySlug(VIEW.slug)).toEqual(VIEW)
  })

  it('caches nothing but published posts', async () => {
    const cache = createMemoryCache()
    const posts = new PostCache({ cache, log: capturing().log })
    posts.fill({ ...VIEW, status: 'draft' })
    posts.fill({ ...VIEW, status: 'draft' })
    await settle()
    expect(await posts.byId(VIEW.id)).toBeNull()
  })

  it('logs a failed write instead of throwing it', async () => {
    const { log, lines } = capturing()
    const down = new PostCache({
      cache: cacheWithSet(() => Promise.reject(new DependencyException('cache', new Error('down')))),
      log,
    })
    const broken = new PostCache({ cache: cacheWithSet(() => Promise.reject(new Error('bug'))), log })
    for (const posts of [down, broken]) {
      posts.fill(VIEW)
      posts.fill(VIEW)
    }
    await settle()
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [40, 'post cache unavailable: using the database'],
      [50, 'post cache write failed'],
    ])
  })
})
