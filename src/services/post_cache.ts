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
 * How many post keys (by id, by slug) one process remembers having looked up within the last
 * {@link POST_TTL_SECONDS}, the oldest forgotten first: a few MiB at most.
 */
const RECENT_LOOKUPS_MAX = 50_000
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
  /** How many looked-up keys {@link PostCache.byId} and {@link PostCache.bySlug} remember (tests make it small). */
  recentLookupsMax?: number
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
  /** The keys of the posts this process looked up within the TTL, and of those it cached. */
  readonly #lookedUp: LRUCache<string, true>
  /** The list pages being loaded, by cache key: one load per page at a time in this process. */
  readonly #listLoads = new Map<string, Promise<PostPageView>>()
  /** Bumped by every change this process makes to the list: loads begun before it write nothing. */
  #listGeneration = 0

  /** @param deps the cache port and the fallback logger */
  constructor(deps: PostCacheDeps) {
    this.#d = deps
    this.#lookedUp = new LRUCache({
      max: deps.recentLookupsMax ?? RECENT_LOOKUPS_MAX,
      ttl: POST_TTL_SECONDS * 1000,
      // A key stays while it is looked up at least once per TTL.
      updateAgeOnHas: true,
    })
  }

  /**
   * A post by id, cache-aside (see {@link PostCache.#read}).
   * @param load reads the post and its author from the database
   */
  byId(postId: string, load: () => Promise<PostView | null>): Promise<PostView | null> {
    return this.#read(`post:id:${postId}`, load)
  }

  /**
   * A post by slug, cache-aside (see {@link PostCache.#read}).
   * @param load reads the post and its author from the database
   */
  bySlug(slug: string, load: () => Promise<PostView | null>): Promise<PostView | null> {
    return this.#read(`post:slug:${slug}`, load)
  }

  /**
   * A post from the cache, else from `load`, which is then cached. The first look-up of a key in this
   * process within the TTL goes straight to the database and caches nothing: a post read less than
   * once a minute would expire before its next read, so neither a cache read nor a cache write would
   * ever pay off (as nginx's `proxy_cache_min_uses 2`). From the second look-up on, the cache is read,
   * and a miss is written back. Only this process's reads count, so with several instances a post
   * another one cached is read from the database once per minute here, never served stale: this only
   * decides whether to ask the cache.
   *
   * The write-back does not hold up the answer. It is issued before the answer leaves, so a change
   * made after the answer drops it (commands on one connection run in order); a failure is logged.
   */
  async #read(key: string, load: () => Promise<PostView | null>): Promise<PostView | null> {
    if (!this.#lookedUp.has(key)) {
      this.#lookedUp.set(key, true)
      return load()
    }
    const cached = await this.#safe(() => this.#d.cache.getJson<PostView>(key), null)
    if (cached) return cached
    const view = await load()
    if (view?.status === 'published') {
      this.#put(view).catch((error: unknown) => {
        currentLog(this.#d.log).error({ err: error }, 'post cache write failed')
      })
    }
    return view
  }

  /** Caches a published post under its id and its slug, both of which are then read from the cache. */
  async #put(view: PostView): Promise<void> {
    const keys = [`post:id:${view.id}`, `post:slug:${view.slug}`]
    for (const key of keys) this.#lookedUp.set(key, true)
    const tags = [postTag(view.id), authorTag(view.author.id)]
    await this.#safe(
      () => this.#d.cache.setMany(keys, JSON.stringify(view), POST_TTL_SECONDS, tags),
      undefined,
    )
  }

  /**
   * A page of the public list from the cache, else from `load`, which is then cached. Concurrent
   * misses of one page in this process share one load (the entry expiring under load would
   * otherwise start one count over the whole table per waiting request). A change this process
   * makes detaches the loads in flight: later requests start their own, and the detached ones write
   * nothing back.
   * @param load reads the page and its total from the database
   */
  async listPage(page: number, size: number, load: () => Promise<PostPageView>): Promise<PostPageView> {
    const key = listKey(page, size)
    const cached = await this.#safe(() => this.#d.cache.getJson<PostPageView>(key), null)
    if (cached) return cached
    const pending = this.#listLoads.get(key)
    if (pending) return pending
    const generation = this.#listGeneration
    const loading = load()
      .then(async (value) => {
        if (generation === this.#listGeneration) {
          await this.#safe(() => this.#d.cache.setJson(key, value, LIST_TTL_SECONDS, [LIST_TAG]), undefined)
        }
        return value
      })
      .finally(() => {
        if (this.#listLoads.get(key) === loading) this.#listLoads.delete(key)
      })
    this.#listLoads.set(key, loading)
    return loading
  }

  /**
   * Drops a post after a committed change.
   * @param postId the post
   * @param listed whether the public list shows (or showed) it, so its cached pages go too
   */
  async forgetPost(postId: string, listed: boolean): Promise<void> {
    if (listed) this.#detachListLoads()
    await this.#safe(async () => {
      await this.#d.cache.invalidateTag(postTag(postId))
      if (listed) await this.#d.cache.invalidateTag(LIST_TAG)
    }, undefined)
  }

  /** Drops every cached post and list page showing an author, after a change to their public fields. */
  async forgetAuthor(authorId: string): Promise<void> {
    this.#detachListLoads()
    await this.#safe(async () => {
      await this.#d.cache.invalidateTag(authorTag(authorId))
      await this.#d.cache.invalidateTag(LIST_TAG)
    }, undefined)
  }

  #detachListLoads(): void {
    this.#listGeneration += 1
    this.#listLoads.clear()
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
