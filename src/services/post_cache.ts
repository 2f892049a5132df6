import type { FastifyBaseLogger } from 'fastify'
import { LRUCache } from 'lru-cache'
import type { Cache } from '../core/cache.ts'
import { currentLog } from '../core/logging.ts'
import { DependencyException } from '../exceptions.ts'
import type { PostPageView, PostView } from './post_view.ts'

/**
 * How long a published post stays cached. Every committed change drops it at once; the TTL only
 * bounds the rare read that raced a change (it read the old row before, and wrote it after, the drop).
 */
const POST_TTL_SECONDS = 60
/** How long a page of the public list stays cached: short, it is also dropped by every change. */
const LIST_TTL_SECONDS = 15
/**
 * How many posts one process remembers having read once, uncached, within the last
 * {@link POST_TTL_SECONDS} (the oldest are forgotten first): a few MiB at most.
 */
const RECENT_MISSES_MAX = 50_000
/** The pages of the public list (default filters and sort) that are cached. */
export const CACHED_LIST_PAGES = 3

const LIST_TAG = 'posts:list'
const postTag = (postId: string) => `post:${postId}`
const authorTag = (authorId: string) => `author:${authorId}`

/** Dependencies of {@link PostCache}. */
export interface PostCacheDeps {
  cache: Cache
  /** Used outside a request; inside one, lines go to the request's logger. */
  log: FastifyBaseLogger
  /** How many once-read posts {@link PostCache.fill} remembers (tests make it small). */
  recentMissesMax?: number
}

/**
 * The cache-aside layer of posts. Only published posts are cached (what anyone may see), so a draft
 * can never be served from it. Entries hold data, not URLs ({@link PostView}). Every entry is tagged
 * with its post and its author, so a change to either drops exactly what it affects.
 *
 * The cache is an optimisation: when it is down, reads miss, writes and drops are skipped, and a
 * warning is logged; nothing fails because of it.
 */
export class PostCache {
  readonly #d: PostCacheDeps
  /** Ids of the published posts this process read from the database once within the TTL. */
  readonly #missedOnce: LRUCache<string, true>

  /** @param deps the cache port and the fallback logger */
  constructor(deps: PostCacheDeps) {
    this.#d = deps
    this.#missedOnce = new LRUCache({
      max: deps.recentMissesMax ?? RECENT_MISSES_MAX,
      ttl: POST_TTL_SECONDS * 1000,
    })
  }

  /** @returns the cached published post with that id, or null */
  byId(postId: string): Promise<PostView | null> {
    return this.#safe(() => this.#d.cache.getJson<PostView>(`post:id:${postId}`), null)
  }

  /** @returns the cached published post with that slug, or null */
  bySlug(slug: string): Promise<PostView | null> {
    return this.#safe(() => this.#d.cache.getJson<PostView>(`post:slug:${slug}`), null)
  }

  /** Caches a post under its id and its slug, when it is published (else does nothing). */
  async put(view: PostView): Promise<void> {
    if (view.status !== 'published') return
    const tags = [postTag(view.id), authorTag(view.author.id)]
    const keys = [`post:id:${view.id}`, `post:slug:${view.slug}`]
    await this.#safe(
      () => this.#d.cache.setMany(keys, JSON.stringify(view), POST_TTL_SECONDS, tags),
      undefined,
    )
  }

  /**
   * Caches a post the database just gave for a read that missed, from its second such read in this
   * process within the TTL (by id or by slug): a post read less than once a minute would expire before
   * its next read, so its reads pay no cache write (as nginx's `proxy_cache_min_uses 2`).
   *
   * {@link PostCache.put} without waiting for it: a read answers as soon as it has the post, while the
   * write goes on. It is issued before the answer leaves, so a change made after the answer drops it
   * (commands on one connection run in order). A failure is logged, never thrown.
   */
  fill(view: PostView): void {
    if (view.status !== 'published') return
    if (!this.#missedOnce.has(view.id)) {
      this.#missedOnce.set(view.id, true)
      return
    }
    this.put(view).catch((error: unknown) => {
      currentLog(this.#d.log).error({ err: error }, 'post cache write failed')
    })
  }

  /** @returns a cached page of the public list, or null */
  listPage(page: number, size: number): Promise<PostPageView | null> {
    return this.#safe(() => this.#d.cache.getJson<PostPageView>(listKey(page, size)), null)
  }

  /** Caches a page of the public list. */
  async putListPage(page: number, size: number, value: PostPageView): Promise<void> {
    await this.#safe(
      () => this.#d.cache.setJson(listKey(page, size), value, LIST_TTL_SECONDS, [LIST_TAG]),
      undefined,
    )
  }

  /**
   * Drops a post after a committed change.
   * @param postId the post
   * @param listed whether the public list shows (or showed) it, so its cached pages go too
   */
  async forgetPost(postId: string, listed: boolean): Promise<void> {
    await this.#safe(async () => {
      await this.#d.cache.invalidateTag(postTag(postId))
      if (listed) await this.#d.cache.invalidateTag(LIST_TAG)
    }, undefined)
  }

  /** Drops every cached post and list page showing an author, after a change to their public fields. */
  async forgetAuthor(authorId: string): Promise<void> {
    await this.#safe(async () => {
      await this.#d.cache.invalidateTag(authorTag(authorId))
      await this.#d.cache.invalidateTag(LIST_TAG)
    }, undefined)
  }

  /** Runs a cache operation; an unavailable cache is logged and answered with `fallback`. */
  async #safe<T>(operation: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await operation()
    } catch (error) {
      if (!(error instanceof DependencyException)) throw error
      currentLog(this.#d.log).warn({ err: error }, 'post cache unavailable: using the database')
      return fallback
    }
  }
}

function listKey(page: number, size: number): string {
  return `posts:list:${page}:${size}`
}
