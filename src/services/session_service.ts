import type { Cache } from '../core/cache.ts'
import type { Database } from '../core/database.ts'
import type { User } from '../models/user.ts'
import type { RefreshTokenRepository } from '../repositories/refresh_token_repo.ts'
import type { UserRepository } from '../repositories/user_repo.ts'

/** How long a user row stays cached for authentication; every change to a user drops it at once. */
const USER_TTL_SECONDS = 60

/** The JSON form of a cached user (dates as strings). */
type CachedUser = Omit<User, 'createdAt' | 'updatedAt' | 'deletedAt'> & {
  createdAt: string | null
  updatedAt: string | null
  deletedAt: string | null
}

function revive(row: CachedUser): User {
  const date = (value: string | null) => (value === null ? null : new Date(value))
  return {
    ...row,
    createdAt: date(row.createdAt),
    updatedAt: date(row.updatedAt),
    deletedAt: date(row.deletedAt),
  }
}

/** Dependencies of {@link SessionService}. */
export interface SessionServiceDeps {
  cache: Cache
  users: UserRepository
  refreshTokens: RefreshTokenRepository
  /** Lifetime of access tokens: how long an ended session must stay on the deny-list. */
  accessTtlSeconds: number
}

/**
 * Sessions and the authenticated user: the cache-backed user lookup of every request, and the
 * deny-list of ended sessions that makes their access tokens fail at once, not at their expiry.
 */
export class SessionService {
  readonly #deps: SessionServiceDeps

  /** @param deps the cache, repositories and access-token lifetime */
  constructor(deps: SessionServiceDeps) {
    this.#deps = deps
  }

  /**
   * The live user by id, from the cache or the database (then cached).
   * @param userId the user
   * @returns the user, or null when absent or soft-deleted
   */
  async getUser(userId: string): Promise<User | null> {
    const key = `user:${userId}`
    const cached = await this.#deps.cache.getJson<CachedUser>(key)
    if (cached) return revive(cached)
    const user = await this.#deps.users.getById(userId)
    if (user) await this.#deps.cache.setJson(key, user, USER_TTL_SECONDS)
    return user
  }

  /**
   * Drops the cached copy of a user; call after every committed change to the user.
   * @param userId the user
   */
  async forgetUser(userId: string): Promise<void> {
    await this.#deps.cache.del(`user:${userId}`)
  }

  /**
   * Whether the session an access token was issued for has ended.
   * @param sessionId the token's `sid`
   */
  async isEnded(sessionId: string): Promise<boolean> {
    return (await this.#deps.cache.get(`session-ended:${sessionId}`)) !== null
  }

  /**
   * Ends sessions: their access tokens are refused from now until they would have expired anyway.
   * (Their refresh tokens are revoked in the database by the caller.)
   * @param sessionIds the sessions
   */
  async end(sessionIds: string[]): Promise<void> {
    await Promise.all(
      sessionIds.map((sid) =>
        this.#deps.cache.set(`session-ended:${sid}`, '1', this.#deps.accessTtlSeconds + 5),
      ),
    )
  }

  /**
   * Ends one session: revokes its refresh tokens and refuses its access tokens.
   * @param sessionId the session
   */
  async endSession(sessionId: string, tx?: Database): Promise<void> {
    await this.#deps.refreshTokens.revokeFamily(sessionId, tx)
    await this.end([sessionId])
  }

  /**
   * Ends every session of a user but, optionally, one, and drops the cached user.
   * @param userId the user
   * @param keepSessionId the caller's own session on a password change
   */
  async endAllSessions(userId: string, keepSessionId?: string): Promise<void> {
    const families = await this.#deps.refreshTokens.revokeAllForUser(userId, keepSessionId)
    await this.end(families)
    await this.forgetUser(userId)
  }
}
