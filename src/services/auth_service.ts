import { randomUUID } from 'node:crypto'
import type { Cache } from '../core/cache.ts'
import type { Settings } from '../core/config.ts'
import type { Database } from '../core/database.ts'
import { hashPassword, randomSecret, sha256Hex, type TokenSigner, verifyPassword } from '../core/security.ts'
import { AuthenticationException, BusinessException, RateLimitException } from '../exceptions.ts'
import type { User } from '../models/user.ts'
import type { ActionTokenRepository } from '../repositories/action_token_repo.ts'
import type { RefreshTokenRepository } from '../repositories/refresh_token_repo.ts'
import type { UserRepository } from '../repositories/user_repo.ts'
import type { LoginInput, TokenPairBody } from '../schemas/token.ts'
import type { RegisterInput } from '../schemas/user.ts'
import type { EventOutbox } from './events.ts'
import { assertPasswordBytes, createUserRow } from './passwords.ts'
import type { SessionService } from './session_service.ts'

/** Failed logins of one account that lock it for the rest of the window (API.md: 5 in 15 minutes). */
const MAX_LOGIN_FAILURES = 5
const LOGIN_WINDOW_SECONDS = 15 * 60
const LOGIN_FAILED = 'Incorrect email or password'

/** Dependencies of {@link AuthService}. */
export interface AuthServiceDeps {
  db: Database
  users: UserRepository
  refreshTokens: RefreshTokenRepository
  actionTokens: ActionTokenRepository
  sessions: SessionService
  cache: Cache
  signer: TokenSigner
  events: EventOutbox
  settings: Pick<Settings, 'bcryptRounds' | 'refreshTokenTtlSeconds'>
}

/** A new token pair and the session it belongs to. */
export interface IssuedSession {
  tokens: TokenPairBody
  sessionId: string
}

/**
 * Accounts and the token lifecycle: registration, login with lockout, refresh-token rotation with
 * re-use detection, logout, email verification and password reset.
 */
export class AuthService {
  readonly #d: AuthServiceDeps
  /** A real bcrypt hash to compare against when the email is unknown, so both failures take as long. */
  readonly #dummyHash: Promise<string>

  /** @param deps repositories, ports and settings */
  constructor(deps: AuthServiceDeps) {
    this.#d = deps
    this.#dummyHash = hashPassword(randomSecret(), deps.settings.bcryptRounds)
  }

  /**
   * Creates an account and records `user.registered` (the worker mails the verification link).
   * @throws {BusinessException} 409 when the email or username is taken, also under a race
   */
  async register(input: RegisterInput): Promise<User> {
    assertPasswordBytes(input.password, 'password')
    const values = await createUserRow(input, this.#d.settings.bcryptRounds)
    const user = await this.#d.users.createUnique(values, async (tx, created) => {
      await this.#d.events.record(tx, 'user.registered', { user_id: created.id })
    })
    this.#d.events.wake()
    return user
  }

  /**
   * Checks the credentials and opens a session.
   * @throws {AuthenticationException} the same for an unknown email and a wrong password
   * @throws {RateLimitException} while the account is locked after repeated failures
   */
  async login(input: LoginInput): Promise<IssuedSession> {
    const email = input.email.toLowerCase()
    const lockKey = `login-lock:${sha256Hex(email)}`
    const lockedUntil = Number(await this.#d.cache.get(lockKey))
    if (lockedUntil > Date.now()) {
      throw new RateLimitException(
        (lockedUntil - Date.now()) / 1000,
        'Too many failed logins; try again later',
      )
    }
    const user = await this.#d.users.getByEmail(email)
    const matches = await verifyPassword(input.password, user?.hashedPassword ?? (await this.#dummyHash))
    if (!user || !matches) {
      const { count, ttlMs } = await this.#d.cache.incr(
        `login-fail:${sha256Hex(email)}`,
        LOGIN_WINDOW_SECONDS,
      )
      if (count >= MAX_LOGIN_FAILURES) {
        await this.#d.cache.set(lockKey, String(Date.now() + ttlMs), ttlMs / 1000)
      }
      throw new AuthenticationException(LOGIN_FAILED)
    }
    if (!user.isActive) throw new AuthenticationException('Account is disabled')
    await this.#d.cache.del(`login-fail:${sha256Hex(email)}`)
    return this.#openSession(user.id, randomUUID())
  }

  /**
   * Rotates a refresh token: the presented one is revoked and a new pair of the same session issued.
   * Presenting an already rotated token revokes the whole session.
   * @throws {AuthenticationException} for an unknown, expired, revoked or re-used token
   */
  async refresh(refreshToken: string): Promise<IssuedSession> {
    const hash = sha256Hex(refreshToken)
    const claimed = await this.#d.refreshTokens.claim(hash)
    if (!claimed) {
      const known = await this.#d.refreshTokens.findByHash(hash)
      if (known?.revokedAt) {
        await this.#d.sessions.endSession(known.familyId)
        throw new AuthenticationException('Refresh token was already used; the session is revoked')
      }
      throw new AuthenticationException('Invalid or expired refresh token')
    }
    const user = await this.#d.sessions.getUser(claimed.userId)
    if (!user?.isActive) {
      await this.#d.sessions.endSession(claimed.familyId)
      throw new AuthenticationException('Account is disabled')
    }
    return this.#openSession(user.id, claimed.familyId)
  }

  /**
   * The session a refresh token belongs to, without using it (for the CSRF binding).
   * @returns the session id, or null for an unknown or dead token
   */
  async sessionOf(refreshToken: string): Promise<{ sessionId: string; userId: string } | null> {
    const row = await this.#d.refreshTokens.findByHash(sha256Hex(refreshToken))
    if (!row || row.revokedAt || row.expiresAt.getTime() <= Date.now()) return null
    return { sessionId: row.familyId, userId: row.userId }
  }

  /**
   * Ends the caller's session, and the session of a refresh token they present if it is theirs.
   * @param userId the caller
   * @param sessionId the caller's session (`sid`)
   * @param refreshToken an optional refresh token from the body or cookie
   */
  async logout(userId: string, sessionId: string, refreshToken?: string): Promise<void> {
    await this.#d.sessions.endSession(sessionId)
    if (!refreshToken) return
    const other = await this.#d.refreshTokens.findByHash(sha256Hex(refreshToken))
    if (other && other.userId === userId && other.familyId !== sessionId) {
      await this.#d.sessions.endSession(other.familyId)
    }
  }

  /** Ends every session of the user. @param userId the caller */
  logoutAll(userId: string): Promise<void> {
    return this.#d.sessions.endAllSessions(userId)
  }

  /**
   * Marks the email verified with a mailed single-use token.
   * @throws {BusinessException} 400 for a bad, used or expired token
   */
  async verifyEmail(token: string): Promise<User> {
    const used = await this.#d.actionTokens.consume(sha256Hex(token), 'verify_email')
    const user = used && (await this.#d.users.update(used.userId, { isVerified: true }))
    if (!user) throw new BusinessException('Invalid or expired verification token')
    await this.#d.sessions.forgetUser(user.id)
    return user
  }

  /** Asks the worker to mail a new verification link. @param user the caller */
  async resendVerification(user: User): Promise<void> {
    if (user.isVerified) return
    await this.#d.db.transaction((tx) =>
      this.#d.events.record(tx, 'user.email_verification_requested', { user_id: user.id }),
    )
    this.#d.events.wake()
  }

  /** Asks the worker to mail a reset link when the email belongs to an active user; silent otherwise. */
  async forgotPassword(email: string): Promise<void> {
    const user = await this.#d.users.getByEmail(email.toLowerCase())
    if (!user?.isActive) return
    await this.#d.db.transaction((tx) =>
      this.#d.events.record(tx, 'user.password_reset_requested', { user_id: user.id }),
    )
    this.#d.events.wake()
  }

  /**
   * Sets a new password with a mailed single-use token and ends every session of the user.
   * @throws {BusinessException} 400 for a bad, used or expired token
   */
  async resetPassword(token: string, newPassword: string): Promise<void> {
    assertPasswordBytes(newPassword, 'new_password')
    const used = await this.#d.actionTokens.consume(sha256Hex(token), 'reset_password')
    const hashedPassword = used && (await hashPassword(newPassword, this.#d.settings.bcryptRounds))
    const user = used && hashedPassword && (await this.#d.users.update(used.userId, { hashedPassword }))
    if (!user) throw new BusinessException('Invalid or expired reset token')
    await this.#d.sessions.endAllSessions(user.id)
  }

  async #openSession(userId: string, sessionId: string): Promise<IssuedSession> {
    const refreshToken = randomSecret(32)
    await this.#d.refreshTokens.create({
      tokenHash: sha256Hex(refreshToken),
      userId,
      familyId: sessionId,
      expiresAt: new Date(Date.now() + this.#d.settings.refreshTokenTtlSeconds * 1000),
    })
    const accessToken = await this.#d.signer.signAccess(userId, sessionId)
    return {
      sessionId,
      tokens: {
        access_token: accessToken,
        refresh_token: refreshToken,
        token_type: 'bearer',
        expires_in: this.#d.signer.accessTtlSeconds,
      },
    }
  }
}
