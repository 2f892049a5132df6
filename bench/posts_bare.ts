import type { IncomingMessage, ServerResponse } from 'node:http'
import { Redis } from 'ioredis'
import type postgres from 'postgres'
import { type BareContext, sendJson } from './scenario.ts'

/**
 * The bare server's side of the post scenarios (issue 5): the fewest queries that give the service's
 * bytes, with postgres.js, and a cache that is Redis when the service has one (`REDIS_URL`) and a
 * `Map` when it runs on its in-process cache. Neither the data set nor the bench users have covers or
 * avatars, so both URLs are always null here (the service signs none either).
 */

/** The service's TTL of a cached post (`post_cache.ts`). */
const POST_TTL_SECONDS = 60
/** The service's TTL of a cached page of the public list (`post_cache.ts`). */
export const LIST_TTL_SECONDS = 15
/** The bare server's own keys in the shared Redis, apart from the service's `folio-bench:` ones. */
const BARE_KEY_PREFIX = 'folio-bench-bare:'
const POSTS_PATH = '/api/v1/posts'

/** A post joined with its author, as the bare queries return it. */
export interface PostJoinRow {
  id: string
  title: string
  slug: string
  summary: string | null
  /** Absent in list rows. */
  content?: string
  status: string
  tags: string[]
  published_at: Date | null
  created_at: Date
  updated_at: Date
  author_id: string
  username: string
  full_name: string | null
}

/**
 * The public Post of a row, field for field in the order of the service's response schema (the list
 * form when the row has no content).
 * @param row the post and its author
 */
export function postBody(row: PostJoinRow) {
  return {
    id: row.id,
    title: row.title,
    slug: row.slug,
    summary: row.summary,
    status: row.status,
    tags: row.tags,
    cover_url: null,
    author: { id: row.author_id, username: row.username, full_name: row.full_name, avatar_url: null },
    published_at: row.published_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    ...(row.content === undefined ? {} : { content: row.content }),
  }
}

/**
 * A live published post and its live author, in one query: what an anonymous caller may read.
 * @param sql the postgres.js client
 * @param id the post id
 */
export async function publishedPost(sql: postgres.Sql, id: string): Promise<PostJoinRow | undefined> {
  const rows = await sql<PostJoinRow[]>`
    SELECT p.id, p.title, p.slug, p.summary, p.content, p.status, p.tags, p.published_at, p.created_at,
           p.updated_at, u.id AS author_id, u.username, u.full_name
    FROM posts p JOIN users u ON u.id = p.author_id AND u.deleted_at IS NULL
    WHERE p.id = ${id} AND p.status = 'published' AND p.deleted_at IS NULL`
  return rows[0]
}

/** The id of `/api/v1/posts/{id}`. */
export function postIdOf(req: IncomingMessage): string {
  return (req.url ?? '').slice(POSTS_PATH.length + 1)
}

/**
 * Answers a post, or the service's 404.
 * @param res the response
 * @param data the public Post, if found
 */
export function sendPost(res: ServerResponse, data: unknown): void {
  if (data === undefined) sendJson(res, 404, { code: 404, message: 'Post not found', detail: null })
  else sendJson(res, 200, { code: 200, message: 'success', data })
}

/** The least a cache-aside read needs: strings by key, with a TTL. */
interface BareCache {
  get(key: string): Promise<string | null>
  set(key: string, value: string, ttlSeconds: number): Promise<void>
}

function redisCache(url: string): BareCache {
  const client = new Redis(url)
  return {
    get: (key) => client.get(key),
    set: async (key, value, ttlSeconds) => {
      await client.set(key, value, 'EX', ttlSeconds)
    },
  }
}

function mapCache(): BareCache {
  const entries = new Map<string, { value: string; expiresAt: number }>()
  return {
    get: async (key) => {
      const entry = entries.get(key)
      return entry && entry.expiresAt > Date.now() ? entry.value : null
    },
    set: async (key, value, ttlSeconds) => {
      entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 })
    },
  }
}

let cache: BareCache | undefined

/**
 * Cache-aside, the least of it: a hit is parsed; a miss is loaded and cached for `ttlSeconds`. Redis
 * when the service has one, else a `Map` like its in-process cache.
 * @param ctx the bare server's context
 * @param key the bare server's own key (under its prefix)
 * @param ttlSeconds how long a loaded value stays
 * @param load reads the value from the database; undefined when there is none (not cached)
 */
export async function cacheAside<T>(
  ctx: BareContext,
  key: string,
  ttlSeconds: number,
  load: () => Promise<T | undefined>,
): Promise<T | undefined> {
  cache ??= ctx.modes.cache === 'external' ? redisCache(String(process.env.REDIS_URL)) : mapCache()
  const fullKey = `${BARE_KEY_PREFIX}${key}`
  const hit = await cache.get(fullKey)
  if (hit !== null) return JSON.parse(hit) as T
  const value = await load()
  if (value !== undefined) await cache.set(fullKey, JSON.stringify(value), ttlSeconds)
  return value
}

/**
 * Cache-aside read of a post ({@link cacheAside}), for the service's TTL.
 * @param req the request for `/api/v1/posts/{id}`
 * @param res the response
 * @param ctx the bare server's context
 */
export async function sendCachedPost(req: IncomingMessage, res: ServerResponse, ctx: BareContext) {
  const id = postIdOf(req)
  const data = await cacheAside(ctx, `post:${id}`, POST_TTL_SECONDS, async () => {
    const row = await publishedPost(ctx.sql(), id)
    return row && postBody(row)
  })
  sendPost(res, data)
}
