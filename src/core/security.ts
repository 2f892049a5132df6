import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import bcrypt from 'bcrypt'
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'
import { AuthenticationException } from '../exceptions.ts'

/** Bytes bcrypt reads from a password; anything beyond would be silently ignored, so it is refused. */
export const MAX_PASSWORD_BYTES = 72
const JWT_ISSUER = 'folio'
const JWT_AUDIENCE = 'folio-api'
/** The only algorithm accepted: a token announcing another (`none`, RS256 with our secret as key...) fails. */
const JWT_ALGORITHMS = ['HS256']

/**
 * bcrypt runs on libuv's thread pool, which also serves WebCrypto (JWT verification), file and DNS
 * work. A login storm must not take every thread, so bcrypt gets at most all but one of them.
 */
const BCRYPT_SLOTS = Math.max(1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1)
let bcryptRunning = 0
const bcryptWaiting: (() => void)[] = []

async function withBcryptSlot<T>(work: () => Promise<T>): Promise<T> {
  if (bcryptRunning >= BCRYPT_SLOTS) await new Promise<void>((resolve) => bcryptWaiting.push(resolve))
  else bcryptRunning++
  try {
    return await work()
  } finally {
    // The slot passes straight to the next waiter, or is freed.
    const next = bcryptWaiting.shift()
    if (next) next()
    else bcryptRunning--
  }
}

/**
 * Hashes a password with bcrypt, off the event loop (on the thread pool, within the bcrypt slots).
 *
 * @param password the plain password (at most 72 bytes: validated before it gets here)
 * @param rounds the bcrypt cost
 * @returns the bcrypt hash
 */
export function hashPassword(password: string, rounds: number): Promise<string> {
  return withBcryptSlot(() => bcrypt.hash(password, rounds))
}

/**
 * Compares a password with a bcrypt hash, off the event loop.
 *
 * @param password the plain password
 * @param hash the stored hash
 * @returns true when they match
 */
export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return withBcryptSlot(() => bcrypt.compare(password, hash))
}

/**
 * A URL-safe random secret.
 * @param bytes entropy in bytes (32 = 256 bits)
 */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/**
 * The SHA-256 hex digest of a high-entropy secret (refresh tokens, API keys, mailed tokens). A fast
 * hash is right here: the secrets are random, so there is nothing to brute-force.
 * @param secret the secret
 */
export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

/**
 * Compares two strings in constant time.
 * @param a one string
 * @param b the other
 */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

/** The claims of a verified access token. */
export interface AccessClaims {
  sub: string
  sid: string
  jti: string
  iat: number
  exp: number
}

/** Issues and verifies access JWTs and signs the CSRF tokens, with keys derived from the JWT secret. */
export class TokenSigner {
  readonly #jwtKey: Uint8Array
  readonly #csrfKey: Buffer
  readonly #ttlSeconds: number

  /**
   * @param secret the JWT secret (at least 32 bytes)
   * @param accessTtlSeconds lifetime of access tokens
   */
  constructor(secret: string, accessTtlSeconds: number) {
    this.#jwtKey = new TextEncoder().encode(secret)
    this.#csrfKey = createHmac('sha256', secret).update('folio:csrf').digest()
    this.#ttlSeconds = accessTtlSeconds
  }

  /** Lifetime of access tokens in seconds. */
  get accessTtlSeconds(): number {
    return this.#ttlSeconds
  }

  /**
   * Signs an access token for a session.
   * @param userId the subject
   * @param sessionId the refresh-token family (`sid`)
   * @returns the compact JWT
   */
  signAccess(userId: string, sessionId: string): Promise<string> {
    return new SignJWT({ sid: sessionId, type: 'access' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${this.#ttlSeconds}s`)
      .sign(this.#jwtKey)
  }

  /**
   * Verifies signature, algorithm, issuer, audience, expiry and type.
   * @param token the compact JWT
   * @returns the claims
   * @throws {AuthenticationException} for any invalid, expired or foreign token
   */
  async verifyAccess(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.#jwtKey, {
        algorithms: JWT_ALGORITHMS,
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        requiredClaims: ['sub', 'jti', 'exp', 'iat'],
      })
      if (payload.type !== 'access' || typeof payload.sid !== 'string') {
        throw new AuthenticationException('Invalid token type')
      }
      return payload as unknown as AccessClaims
    } catch (error) {
      if (error instanceof AuthenticationException) throw error
      if (error instanceof joseErrors.JWTExpired) throw new AuthenticationException('Token expired')
      throw new AuthenticationException('Invalid token')
    }
  }

  /**
   * A CSRF token bound to a session: `<nonce>.<HMAC(sid, nonce)>` (signed double-submit).
   * @param sessionId the refresh session the token is for
   */
  signCsrf(sessionId: string): string {
    const nonce = randomSecret(16)
    return `${nonce}.${this.#csrfMac(sessionId, nonce)}`
  }

  /**
   * Whether a CSRF token was issued by this server for that session.
   * @param token the token from the header
   * @param sessionId the session of the refresh cookie
   */
  verifyCsrf(token: string, sessionId: string): boolean {
    const [nonce, mac, extra] = token.split('.')
    if (!nonce || !mac || extra !== undefined) return false
    return safeEqual(mac, this.#csrfMac(sessionId, nonce))
  }

  #csrfMac(sessionId: string, nonce: string): string {
    return createHmac('sha256', this.#csrfKey).update(`${sessionId}.${nonce}`).digest('base64url')
  }
}
