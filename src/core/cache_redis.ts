import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { DependencyException } from '../exceptions.ts'
import { perTurnBatch, withTimeout } from '../utils/helpers.ts'
import type { Cache, IncrResult } from './cache.ts'
import { CacheBase, lockTtl, newLockToken, ttlToMs } from './cache_common.ts'
import { type ScriptedRedis, withScripts } from './cache_redis_scripts.ts'

/** A command not answered within this time fails (the API answers 503 instead of hanging). */
const COMMAND_TIMEOUT_MS = 500
const CONNECT_TIMEOUT_MS = 1_000
const MAX_RECONNECT_DELAY_MS = 2_000
const SCAN_BATCH = 500
/** Most keys read by one MGET. */
const READ_BATCH = 100

/** Options of {@link createRedisCache}. */
export interface RedisCacheOptions {
  url: string
  keyPrefix: string
  log?: Pick<Logger, 'warn' | 'info'> | undefined
}

/** Redis refusing a command because of how it was used (a bug here), not because it is unavailable. */
function isMisuse(error: unknown): boolean {
  const { name, message } = error as { name?: unknown; message?: unknown }
  return (
    name === 'ReplyError' &&
    typeof message === 'string' &&
    (message.startsWith('WRONGTYPE') || message.includes('not an integer'))
  )
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/** The Redis adapter of the cache port. */
class RedisCache extends CacheBase implements Cache {
  readonly mode = 'external' as const
  readonly #client: ScriptedRedis
  readonly #prefix: string
  readonly #log: RedisCacheOptions['log']
  /** True from a connection failure until the next `ready`: calls fail at once meanwhile. */
  #down = false
  #lastError: unknown
  #closed = false
  #firstConnect: Promise<void> | null = null
  /** The reads of one event-loop turn, sent as one MGET: one write and one reply for all of them. */
  readonly #reads = perTurnBatch<string, string | null>(
    (keys) => this.#call((c) => c.mget(...keys)),
    READ_BATCH,
  )

  constructor(options: RedisCacheOptions) {
    super()
    this.#prefix = options.keyPrefix
    this.#log = options.log
    const client = new Redis(options.url, {
      lazyConnect: false,
      // Fail fast instead of queueing while disconnected; never replay a command (INCR is not idempotent).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), MAX_RECONNECT_DELAY_MS),
    })
    // Without an 'error' listener ioredis would crash the process on a refused connection.
    client.on('error', (error: Error) => {
      this.#lastError = error
      this.#markDown()
    })
    client.on('close', () => this.#markDown())
    client.on('ready', () => {
      if (this.#down) this.#log?.info('cache connection restored')
      this.#down = false
    })
    this.#client = withScripts(client)
  }

  get(key: string): Promise<string | null> {
    return this.#reads.load(this.#data(key))
  }

  async set(key: string, value: string, ttlSeconds?: number, tags: string[] = []): Promise<void> {
    if (tags.length > 0) return this.setMany([key], value, ttlSeconds, tags)
    const ttlMs = ttlSeconds === undefined ? undefined : ttlToMs(ttlSeconds)
    const dataKey = this.#data(key)
    await this.#call<unknown>((c) =>
      ttlMs === undefined ? c.set(dataKey, value) : c.set(dataKey, value, 'PX', ttlMs),
    )
  }

  async setMany(keys: string[], value: string, ttlSeconds?: number, tags: string[] = []): Promise<void> {
    const ttlMs = ttlSeconds === undefined ? '' : String(ttlToMs(ttlSeconds))
    if (keys.length === 0) return
    const redisKeys = [...keys.map((key) => this.#data(key)), ...tags.map((tag) => this.#tag(tag))]
    await this.#call((c) =>
      c.folioSetTagged(redisKeys.length, ...redisKeys, value, ttlMs, String(keys.length)),
    )
  }

  async del(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0
    return this.#call((c) => c.unlink(...keys.map((key) => this.#data(key))))
  }

  async delPrefix(prefix: string): Promise<number> {
    const pattern = `${escapeGlob(this.#data(prefix))}*`
    let cursor = '0'
    let deleted = 0
    do {
      const [next, keys] = await this.#call((c) => c.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH))
      cursor = next
      if (keys.length > 0) deleted += await this.#call((c) => c.unlink(...keys))
    } while (cursor !== '0')
    return deleted
  }

  invalidateTag(tag: string): Promise<number> {
    return this.#call((c) => c.folioInvalidateTag(this.#tag(tag)))
  }

  async incr(key: string, windowSeconds: number, by = 1): Promise<IncrResult> {
    const windowMs = ttlToMs(windowSeconds)
    const [count, ttlMs] = await this.#call((c) => c.folioIncrWindow(this.#data(key), windowMs, by))
    return { count, ttlMs }
  }

  async acquireLock(key: string, ttlMs: number): Promise<string | null> {
    const ms = lockTtl(ttlMs)
    const token = newLockToken()
    const reply = await this.#call((c) => c.set(this.#lock(key), token, 'PX', ms, 'NX'))
    return reply === 'OK' ? token : null
  }

  async renewLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    const ms = lockTtl(ttlMs)
    return (await this.#call((c) => c.folioRenewLock(this.#lock(key), token, ms))) === 1
  }

  async releaseLock(key: string, token: string): Promise<boolean> {
    return (await this.#call((c) => c.folioReleaseLock(this.#lock(key), token))) === 1
  }

  async ping(timeoutMs: number): Promise<void> {
    await this.#call((c) => withTimeout(c.ping(), timeoutMs, 'cache ping'))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#client.status === 'ready') await this.#client.quit().catch(() => this.#client.disconnect())
    else this.#client.disconnect()
  }

  #data(key: string): string {
    return `${this.#prefix}data:${key}`
  }

  #tag(tag: string): string {
    return `${this.#prefix}tag:${tag}`
  }

  #lock(key: string): string {
    return `${this.#prefix}lock:${key}`
  }

  /** Logged once per outage, however many reconnection attempts fail. */
  #markDown(): void {
    if (!this.#down && !this.#closed) {
      this.#log?.warn({ err: this.#lastError }, 'cache unreachable: failing fast until it is back')
    }
    this.#down = true
  }

  /** Runs one operation; an unavailable Redis becomes `DependencyException('cache')`. */
  async #call<T>(run: (client: ScriptedRedis) => Promise<T>): Promise<T> {
    try {
      await this.#ready()
      return await run(this.#client)
    } catch (error) {
      if (error instanceof DependencyException || isMisuse(error)) throw error
      throw new DependencyException('cache', error)
    }
  }

  #ready(): Promise<void> {
    const status = this.#client.status
    if (status === 'ready') return Promise.resolve()
    if (this.#closed || this.#down || status === 'end') {
      const cause = this.#closed ? new Error('cache is closed') : this.#lastError
      return Promise.reject(new DependencyException('cache', cause ?? new Error(`Redis is ${status}`)))
    }
    // The first connection is still being made: wait for it briefly rather than fail the first calls.
    this.#firstConnect ??= this.#awaitReady().finally(() => {
      this.#firstConnect = null
    })
    return this.#firstConnect
  }

  #awaitReady(): Promise<void> {
    const client = this.#client
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: unknown) => {
        clearTimeout(timer)
        client.off('ready', onReady)
        client.off('error', onFail)
        client.off('close', onFail)
        if (error) reject(new DependencyException('cache', error))
        else resolve()
      }
      const onReady = () => settle()
      const onFail = (error?: Error) => settle(error ?? new Error('Redis connection closed'))
      const timer = setTimeout(
        () => settle(new Error(`Redis not ready within ${COMMAND_TIMEOUT_MS} ms`)),
        COMMAND_TIMEOUT_MS,
      )
      client.on('ready', onReady)
      client.on('error', onFail)
      client.on('close', onFail)
    })
  }
}

/**
 * Creates the Redis adapter. Connects in the background: never throws when Redis is down, and
 * reconnects by itself (back-off capped at 2 s) when it returns.
 *
 * @param options the Redis URL, the key prefix and an optional logger
 * @returns the cache; `close()` ends the connection
 */
export function createRedisCache(options: RedisCacheOptions): Cache {
  return new RedisCache(options)
}
