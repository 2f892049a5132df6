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

describe('PostCache.fill', () => {
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
    expect(posts.fill(VIEW)).toBeUndefined()
    expect(await cache.get(`post:id:${VIEW.id}`)).toBeNull()
    release()
    await new Promise((resolve) => setTimeout(resolve, 10))
    const reader = new PostCache({ cache, log: capturing().log })
    expect(await reader.byId(VIEW.id)).toEqual(VIEW)
    expect(await reader.bySlug(VIEW.slug)).toEqual(VIEW)
  })

  it('caches nothing but published posts', async () => {
    const cache = createMemoryCache()
    const posts = new PostCache({ cache, log: capturing().log })
    posts.fill({ ...VIEW, status: 'draft' })
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(await posts.byId(VIEW.id)).toBeNull()
  })

  it('logs a failed write instead of throwing it', async () => {
    const { log, lines } = capturing()
    const down = new PostCache({
      cache: cacheWithSet(() => Promise.reject(new DependencyException('cache', new Error('down')))),
      log,
    })
    const broken = new PostCache({ cache: cacheWithSet(() => Promise.reject(new Error('bug'))), log })
    down.fill(VIEW)
    broken.fill(VIEW)
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [40, 'post cache unavailable: using the database'],
      [50, 'post cache write failed'],
    ])
  })
})
