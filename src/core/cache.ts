import type { Logger } from 'pino'
import { createMemoryCache } from './cache_memory.ts'
import { createRedisCache } from './cache_redis.ts'
import type { StoreMode } from './database.ts'

export { LockBusyError } from './cache_common.ts'

/** The outcome of {@link Cache.incr}: the counter after this call and the time left in its window. */
export interface IncrResult {
  /** The counter's value after the increment (1 for the first hit of a window). */
  count: number
  /** Milliseconds until the counter expires and a new window starts. */
  ttlMs: number
}

/** Options of {@link Cache.withLock}. */
export interface WithLockOptions {
  /** How long to keep retrying while another holder has the lock (default 0: one attempt). */
  waitMs?: number
}

/**
 * The cache port: strings and JSON with optional TTLs and tags, fixed-window counters and a
 * token-checked distributed lock. One adapter talks to Redis, the other lives in this process; both
 * honour the same contract (`tests/core/cache.test.ts`).
 *
 * Every key is scoped by the adapter's key prefix; values, tags and locks live in separate
 * namespaces, so a lock named `x` and a value named `x` never collide.
 *
 * When Redis is unreachable every operation rejects quickly with `DependencyException('cache')`
 * (answered as 503); the adapter reconnects by itself once Redis is back.
 */
export interface Cache {
  /** `external` for Redis, `embedded` for the in-process adapter (as `/health` reports it). */
  readonly mode: StoreMode

  /** @returns the string stored at `key`, or null when absent or expired */
  get(key: string): Promise<string | null>
  /**
   * Stores a string, replacing any value (and TTL) there.
   * @param ttlSeconds lifetime in seconds (fractions allowed); omitted = no expiry
   * @param tags tags to file the key under, for {@link Cache.invalidateTag}
   * @throws {RangeError} when `ttlSeconds` is not a positive number
   */
  set(key: string, value: string, ttlSeconds?: number, tags?: string[]): Promise<void>
  /**
   * Stores one string under several keys at once (one round trip on Redis), each as {@link Cache.set}
   * would, with the same TTL and tags.
   * @throws {RangeError} when `ttlSeconds` is not a positive number
   */
  setMany(keys: string[], value: string, ttlSeconds?: number, tags?: string[]): Promise<void>
  /**
   * Reads and parses a JSON value. The shape is not checked: the caller vouches for `T`.
   * @returns the parsed value, or null when absent or expired
   */
  getJson<T>(key: string): Promise<T | null>
  /** Stores `value` as JSON; see {@link Cache.set} for `ttlSeconds` and `tags`. */
  setJson(key: string, value: unknown, ttlSeconds?: number, tags?: string[]): Promise<void>
  /** @returns how many of `keys` existed and were deleted */
  del(...keys: string[]): Promise<number>
  /**
   * Deletes every value whose key starts with `prefix` (SCAN + UNLINK on Redis, never KEYS). Not
   * atomic: a key written while it runs may survive.
   * @returns how many values were deleted
   */
  delPrefix(prefix: string): Promise<number>
  /**
   * Deletes every value filed under `tag` (atomically on Redis). Tags accumulate: writing a key again
   * adds its new tags and keeps the old ones until they are invalidated.
   * @returns how many values were deleted
   */
  invalidateTag(tag: string): Promise<number>
  /**
   * Increments a fixed-window counter atomically. The window starts with the first hit: the expiry is
   * set only when the counter is created, later hits never extend it.
   * @param windowSeconds the window's length in seconds (fractions allowed)
   * @param by how much to add (1 when absent): several hits counted at once
   * @throws {Error} (not a DependencyException) when `key` holds a value that is not an integer
   */
  incr(key: string, windowSeconds: number, by?: number): Promise<IncrResult>

  /**
   * Takes the lock `key` unless someone holds it.
   * @param ttlMs how long the lock lives unless renewed or released
   * @returns the holder's token, or null when the lock is taken
   */
  acquireLock(key: string, ttlMs: number): Promise<string | null>
  /** Extends the lock to `ttlMs` from now. @returns false when `token` does not hold the lock */
  renewLock(key: string, token: string, ttlMs: number): Promise<boolean>
  /** Releases the lock. @returns false when `token` does not hold it (nothing is released then) */
  releaseLock(key: string, token: string): Promise<boolean>
  /**
   * Runs `fn` while holding the lock `key`: retries acquisition with a small jittered back-off for up
   * to `waitMs`, renews the lock every third of `ttlMs` while `fn` runs, and always releases it. The
   * signal passed to `fn` aborts if the lock is lost (a renewal found another holder).
   * @returns what `fn` returns
   * @throws {LockBusyError} when the lock could not be taken within `waitMs`
   */
  withLock<T>(
    key: string,
    ttlMs: number,
    fn: (signal: AbortSignal) => Promise<T>,
    options?: WithLockOptions,
  ): Promise<T>

  /** @throws {DependencyException} when the cache does not answer within `timeoutMs` */
  ping(timeoutMs: number): Promise<void>
  /** Closes the connection (or stops the sweep timer); later calls reject. */
  close(): Promise<void>
}

/** Options of {@link createCache}. */
export interface CacheOptions {
  /** A `redis://` or `rediss://` URL; when absent the in-process adapter is used. */
  url: string | undefined
  /** Prepended to every Redis key, e.g. `folio:`; lets several apps or test runs share one Redis. */
  keyPrefix: string
  /** Where connection losses and recoveries are logged (at most once per transition). */
  log?: Pick<Logger, 'warn' | 'info'>
}

/**
 * Creates the cache port: the Redis adapter when a URL is given, else the in-process one. Never
 * throws when Redis is down: the adapter connects in the background and `ping` reports it down.
 *
 * @param options where the cache is and how its keys are prefixed
 * @returns the cache; call `close()` at shutdown
 */
export function createCache(options: CacheOptions): Cache {
  return options.url
    ? createRedisCache({ url: options.url, keyPrefix: options.keyPrefix, log: options.log })
    : createMemoryCache()
}
