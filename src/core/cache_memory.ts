import { DependencyException } from '../exceptions.ts'
import type { Cache, IncrResult } from './cache.ts'
import { CacheBase, lockTtl, newLockToken, ttlToMs } from './cache_common.ts'

/** How often expired entries are swept; reads also drop them lazily. */
const SWEEP_INTERVAL_MS = 30_000

interface Entry {
  value: string
  /** Epoch milliseconds, or null for no expiry. */
  expiresAt: number | null
}

interface Lock {
  token: string
  expiresAt: number
}

/**
 * The in-process cache: the embedded default when no `REDIS_URL` is set. Same contract as the Redis
 * adapter, but local to this process (limits and locks are not shared between instances).
 */
class MemoryCache extends CacheBase implements Cache {
  readonly mode = 'embedded' as const
  readonly #entries = new Map<string, Entry>()
  readonly #tags = new Map<string, Set<string>>()
  readonly #locks = new Map<string, Lock>()
  readonly #sweeper: NodeJS.Timeout
  #closed = false

  constructor() {
    super()
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS)
    this.#sweeper.unref()
  }

  async get(key: string): Promise<string | null> {
    return this.#live(key)?.value ?? null
  }

  async set(key: string, value: string, ttlSeconds?: number, tags: string[] = []): Promise<void> {
    const ttlMs = ttlSeconds === undefined ? null : ttlToMs(ttlSeconds)
    this.#open()
    this.#entries.set(key, { value, expiresAt: ttlMs === null ? null : Date.now() + ttlMs })
    for (const tag of tags) {
      const keys = this.#tags.get(tag) ?? new Set<string>()
      keys.add(key)
      this.#tags.set(tag, keys)
    }
  }

  async setMany(keys: string[], value: string, ttlSeconds?: number, tags: string[] = []): Promise<void> {
    for (const key of keys) await this.set(key, value, ttlSeconds, tags)
  }

  async del(...keys: string[]): Promise<number> {
    this.#open()
    let deleted = 0
    for (const key of keys) {
      if (this.#live(key)) deleted++
      this.#entries.delete(key)
    }
    return deleted
  }

  async delPrefix(prefix: string): Promise<number> {
    this.#open()
    const matching = [...this.#entries.keys()].filter((key) => key.startsWith(prefix))
    return this.del(...matching)
  }

  async invalidateTag(tag: string): Promise<number> {
    this.#open()
    const keys = this.#tags.get(tag)
    this.#tags.delete(tag)
    return keys ? this.del(...keys) : 0
  }

  async incr(key: string, windowSeconds: number, by = 1): Promise<IncrResult> {
    const windowMs = ttlToMs(windowSeconds)
    const now = Date.now()
    const entry = this.#live(key)
    if (entry && !/^-?\d+$/.test(entry.value)) throw new Error(`cache value at "${key}" is not an integer`)
    const count = (entry ? Number(entry.value) : 0) + by
    // Like the Redis script: the window is set when the counter is created (or found without expiry).
    const expiresAt = entry?.expiresAt ?? now + windowMs
    this.#entries.set(key, { value: String(count), expiresAt })
    return { count, ttlMs: expiresAt - now }
  }

  async acquireLock(key: string, ttlMs: number): Promise<string | null> {
    const ms = lockTtl(ttlMs)
    if (this.#heldLock(key)) return null
    const token = newLockToken()
    this.#locks.set(key, { token, expiresAt: Date.now() + ms })
    return token
  }

  async renewLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    const ms = lockTtl(ttlMs)
    const lock = this.#heldLock(key)
    if (lock?.token !== token) return false
    lock.expiresAt = Date.now() + ms
    return true
  }

  async releaseLock(key: string, token: string): Promise<boolean> {
    if (this.#heldLock(key)?.token !== token) return false
    this.#locks.delete(key)
    return true
  }

  async ping(_timeoutMs: number): Promise<void> {
    this.#open()
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#sweeper)
    this.#entries.clear()
    this.#tags.clear()
    this.#locks.clear()
  }

  /** Mirrors a closed Redis connection: calls after `close()` fail as the dependency being gone. */
  #open(): void {
    if (this.#closed) throw new DependencyException('cache', new Error('the in-process cache is closed'))
  }

  #live(key: string): Entry | undefined {
    this.#open()
    const entry = this.#entries.get(key)
    if (entry?.expiresAt != null && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key)
      return undefined
    }
    return entry
  }

  #heldLock(key: string): Lock | undefined {
    this.#open()
    const lock = this.#locks.get(key)
    if (lock && lock.expiresAt <= Date.now()) {
      this.#locks.delete(key)
      return undefined
    }
    return lock
  }

  #sweep(): void {
    const now = Date.now()
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.#entries.delete(key)
    }
    for (const [key, lock] of this.#locks) {
      if (lock.expiresAt <= now) this.#locks.delete(key)
    }
    for (const [tag, keys] of this.#tags) {
      for (const key of keys) if (!this.#entries.has(key)) keys.delete(key)
      if (keys.size === 0) this.#tags.delete(tag)
    }
  }
}

/**
 * Creates the in-process cache adapter.
 * @returns a cache living in this process; `close()` stops its sweep timer
 */
export function createMemoryCache(): Cache {
  return new MemoryCache()
}
