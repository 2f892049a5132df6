import { randomBytes } from 'node:crypto'
import type { Cache, WithLockOptions } from './cache.ts'

/** Longest pause between two attempts to take a busy lock. */
const MAX_LOCK_BACKOFF_MS = 50

/** {@link Cache.withLock} could not take the lock within its `waitMs`. */
export class LockBusyError extends Error {
  readonly key: string

  /**
   * @param key the lock's name
   * @param waitMs how long acquisition was retried
   */
  constructor(key: string, waitMs: number) {
    super(`lock "${key}" is held by another owner (waited ${waitMs} ms)`)
    this.name = 'LockBusyError'
    this.key = key
  }
}

/**
 * Converts a TTL in seconds into whole milliseconds (at least 1).
 * @param seconds a positive number of seconds
 * @throws {RangeError} when `seconds` is not a positive finite number
 */
export function ttlToMs(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new RangeError(`cache TTL must be a positive number of seconds (got ${seconds})`)
  }
  return Math.max(1, Math.round(seconds * 1000))
}

/**
 * Checks a lock TTL.
 * @param ttlMs a positive number of milliseconds
 * @returns the TTL as whole milliseconds (at least 1)
 * @throws {RangeError} when `ttlMs` is not a positive finite number
 */
export function lockTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`lock TTL must be a positive number of milliseconds (got ${ttlMs})`)
  }
  return Math.max(1, Math.round(ttlMs))
}

/** @returns a fresh, unguessable lock token */
export function newLockToken(): string {
  return randomBytes(16).toString('base64url')
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * The adapter-independent {@link Cache.withLock}, built on the lock primitives of `cache`.
 *
 * @param cache the adapter whose primitives are used
 * @param key the lock's name
 * @param ttlMs the lock's lifetime, renewed every third of it while `fn` runs
 * @param fn the critical section
 * @param options how long to wait for a busy lock
 * @returns what `fn` returns
 * @throws {LockBusyError} when the lock could not be taken within `waitMs`
 */
export async function runWithLock<T>(
  cache: Pick<Cache, 'acquireLock' | 'renewLock' | 'releaseLock'>,
  key: string,
  ttlMs: number,
  fn: (signal: AbortSignal) => Promise<T>,
  options: WithLockOptions = {},
): Promise<T> {
  const waitMs = options.waitMs ?? 0
  const deadline = Date.now() + waitMs
  let token = await cache.acquireLock(key, ttlMs)
  for (let backoff = 5; token === null; backoff = Math.min(backoff * 2, MAX_LOCK_BACKOFF_MS)) {
    const left = deadline - Date.now()
    if (left <= 0) throw new LockBusyError(key, waitMs)
    // Jitter keeps many waiters from retrying in lock-step.
    await sleep(Math.min(left, backoff / 2 + Math.random() * (backoff / 2)))
    token = await cache.acquireLock(key, ttlMs)
  }
  const held = token
  const lost = new AbortController()
  // A failed renewal (cache briefly down) is retried on the next tick; only "not the holder" is final.
  const renewal = setInterval(
    () => {
      cache.renewLock(key, held, ttlMs).then(
        (stillHeld) => {
          if (!stillHeld) lost.abort(new Error(`lock "${key}" was lost`))
        },
        () => {},
      )
    },
    Math.max(5, Math.floor(ttlMs / 3)),
  )
  renewal.unref()
  try {
    return await fn(lost.signal)
  } finally {
    clearInterval(renewal)
    // A release that fails (cache down) leaves the lock to expire with its TTL.
    await cache.releaseLock(key, held).catch(() => false)
  }
}

/**
 * What every cache adapter shares on top of its own primitives: JSON values over `get`/`set`, and
 * `withLock` over the lock operations.
 */
export abstract class CacheBase {
  abstract get(key: string): Promise<string | null>
  abstract set(key: string, value: string, ttlSeconds?: number, tags?: string[]): Promise<void>
  abstract acquireLock(key: string, ttlMs: number): Promise<string | null>
  abstract renewLock(key: string, token: string, ttlMs: number): Promise<boolean>
  abstract releaseLock(key: string, token: string): Promise<boolean>

  async getJson<T>(key: string): Promise<T | null> {
    const raw = await this.get(key)
    return raw === null ? null : (JSON.parse(raw) as T)
  }

  setJson(key: string, value: unknown, ttlSeconds?: number, tags?: string[]): Promise<void> {
    return this.set(key, JSON.stringify(value), ttlSeconds, tags)
  }

  withLock<T>(
    key: string,
    ttlMs: number,
    fn: (signal: AbortSignal) => Promise<T>,
    options?: WithLockOptions,
  ): Promise<T> {
    return runWithLock(this, key, ttlMs, fn, options)
  }
}
