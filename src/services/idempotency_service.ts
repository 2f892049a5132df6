import type { Cache } from '../core/cache.ts'
import { sha256Hex } from '../core/security.ts'
import { ValidationException } from '../exceptions.ts'

/** How long a stored response answers repeats (API.md: 24 hours). */
const REPLAY_TTL_SECONDS = 24 * 3600
/** How long one creation may hold the key's lock; concurrent repeats wait up to this for its answer. */
const LOCK_TTL_MS = 30_000

/** A response as it is replayed: the same status and body. */
export interface StoredResponse {
  status: number
  body: unknown
}

interface Entry extends StoredResponse {
  fingerprint: string
}

/** Where an `Idempotency-Key` applies: one user, one route. */
export interface IdempotencyScope {
  userId: string
  route: string
  key: string
}

/**
 * `Idempotency-Key` for creations: the first request with a key runs and its response is stored for
 * 24 hours; repeats by the same user get that response again, and concurrent repeats wait on the
 * cache's lock for it instead of creating twice. The same key with a different request is 422.
 */
export class IdempotencyService {
  readonly #cache: Cache

  /** @param cache where responses and locks live (shared by every instance) */
  constructor(cache: Cache) {
    this.#cache = cache
  }

  /**
   * Runs `create` once per key and replays its response to repeats.
   * @param scope the user, route and key
   * @param fingerprint a digest of the request (e.g. of its body); a repeat must match it
   * @param create does the work and returns the response to store
   * @returns the response, fresh or replayed
   * @throws {ValidationException} 422 when the key was used with a different request
   */
  async run(
    scope: IdempotencyScope,
    fingerprint: string,
    create: () => Promise<StoredResponse>,
  ): Promise<StoredResponse> {
    const id = sha256Hex(`${scope.userId}\n${scope.route}\n${scope.key}`)
    const entryKey = `idempotency:${id}`
    const replay = async () => {
      const entry = await this.#cache.getJson<Entry>(entryKey)
      if (entry && entry.fingerprint !== fingerprint) {
        throw new ValidationException('Idempotency-Key was already used with a different request', [
          {
            loc: ['header', 'idempotency-key'],
            msg: 'reused with a different request',
            type: 'idempotency_mismatch',
          },
        ])
      }
      return entry ? { status: entry.status, body: entry.body } : null
    }
    const stored = await replay()
    if (stored) return stored
    return this.#cache.withLock(
      `idempotency:${id}`,
      LOCK_TTL_MS,
      async () => {
        // A concurrent repeat may have finished while this one waited for the lock.
        const done = await replay()
        if (done) return done
        const response = await create()
        // Only successes are kept: a failed attempt may be retried with the same key.
        if (response.status < 400) {
          await this.#cache.setJson(
            entryKey,
            { ...response, fingerprint } satisfies Entry,
            REPLAY_TTL_SECONDS,
          )
        }
        return response
      },
      { waitMs: LOCK_TTL_MS },
    )
  }
}
