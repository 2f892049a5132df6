import type {} from '@fastify/cookie'
import type {} from '@fastify/multipart'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AccessClaims, TokenSigner } from '../core/security.ts'
import { AuthenticationException, PermissionException } from '../exceptions.ts'
import type { User } from '../models/user.ts'
import type { ApiKeyService } from '../services/api_key_service.ts'
import type { SessionService } from '../services/session_service.ts'

/** Who made a request, and how. */
export type AuthContext =
  | { user: User; via: 'bearer'; sessionId: string }
  | { user: User; via: 'api_key'; apiKeyId: string }

/** A route guard, used as `preHandler`. */
export type Guard = (request: FastifyRequest) => Promise<void>

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes `multipart/form-data` uploads (other routes answer such bodies with 415). */
    multipart?: boolean
  }
  interface FastifyRequest {
    /** The authenticated caller, or null for an anonymous request. */
    auth: AuthContext | null
    /** Credentials were presented but refused; raised after rate limiting has counted the request. */
    authError: Error | null
  }
  interface FastifyInstance {
    /** Any authenticated user (Bearer or API key). */
    requireUser: Guard
    /** A superuser (Bearer or API key). */
    requireSuperuser: Guard
    /** A user authenticated by an access token; an API key is 403. */
    requireBearer: Guard
  }
}

/** What the authentication hook needs. */
export interface AuthDeps {
  signer: TokenSigner
  sessions: SessionService
  apiKeys: ApiKeyService
}

/** The OpenAPI security of routes open to both credentials, and of Bearer-only routes. */
export const ANY_AUTH: Record<string, string[]>[] = [{ bearerAuth: [] }, { apiKeyAuth: [] }]
export const BEARER_ONLY: Record<string, string[]>[] = [{ bearerAuth: [] }]

/** Credentials checked as far as they go without a look-up: whom a signed token names, and the rest. */
interface Identification {
  /** The user a validly signed access token names, before its session and account are looked up. */
  claimedUserId?: string
  /** The look-ups; resolves with the caller, or null for an anonymous request. */
  context: Promise<AuthContext | null>
}

async function confirmBearer(claims: AccessClaims, deps: AuthDeps): Promise<AuthContext> {
  const [ended, user] = await Promise.all([
    deps.sessions.isEnded(claims.sid),
    deps.sessions.getUser(claims.sub),
  ])
  if (ended) throw new AuthenticationException('Session has ended')
  if (!user?.isActive) throw new AuthenticationException('Account is disabled')
  return { user, via: 'bearer', sessionId: claims.sid }
}

async function identify(request: FastifyRequest, deps: AuthDeps): Promise<Identification> {
  const header = request.headers.authorization
  const apiKey = request.headers['x-api-key']
  if (header !== undefined) {
    const [scheme, token, extra] = header.split(' ')
    if (scheme?.toLowerCase() !== 'bearer' || !token || extra !== undefined) {
      throw new AuthenticationException('Malformed Authorization header')
    }
    const claims = await deps.signer.verifyAccess(token)
    return { claimedUserId: claims.sub, context: confirmBearer(claims, deps) }
  }
  if (typeof apiKey === 'string') {
    const { user, keyId } = await deps.apiKeys.authenticate(apiKey)
    return { context: Promise.resolve({ user, via: 'api_key', apiKeyId: keyId }) }
  }
  return { context: Promise.resolve(null) }
}

/** Records the outcome of the look-ups on the request; never rejects (an error lands in `authError`). */
async function settle(request: FastifyRequest, context: Promise<AuthContext | null>): Promise<void> {
  try {
    request.auth = await context
    request.rateLimitSubject = request.auth?.user.id
  } catch (error) {
    request.rateLimitSubject = undefined
    request.authError = error as Error
  }
}

/**
 * Installs the one authentication hook (Bearer or `X-API-Key`) and the guards. Refused credentials
 * do not stop the request at once: the rate limiter (a later `onRequest` hook) counts it against the
 * client's IP first, then the error is raised (`preValidation`), as is a dependency failure (cache
 * down: 503). A validly signed access token names its user before the session and account are looked
 * up: that user is the request's provisional rate-limit subject, so the limiter counts while the
 * look-ups run (see `registerRateLimit`).
 *
 * @param app the Fastify instance, before the rate limiter is registered
 * @param deps the token signer, sessions and API keys
 */
export function registerAuth(app: FastifyInstance, deps: AuthDeps): void {
  app.decorateRequest('auth', null)
  app.decorateRequest('authError', null)

  app.addHook('onRequest', async (request) => {
    let identification: Identification
    try {
      identification = await identify(request, deps)
    } catch (error) {
      if (!(error instanceof AuthenticationException)) throw error
      request.authError = error
      return
    }
    request.rateLimitSubject = identification.claimedUserId
    request.rateLimitSubjectSettled = settle(request, identification.context)
  })
  app.addHook('preValidation', async (request) => {
    await request.rateLimitSubjectSettled
    if (request.authError) throw request.authError
  })

  app.decorate('requireUser', async (request: FastifyRequest) => {
    if (!request.auth) throw new AuthenticationException()
  })
  app.decorate('requireBearer', async (request: FastifyRequest) => {
    if (!request.auth) throw new AuthenticationException()
    if (request.auth.via !== 'bearer') throw new PermissionException('API keys cannot be used on this route')
  })
  app.decorate('requireSuperuser', async (request: FastifyRequest) => {
    if (!request.auth) throw new AuthenticationException()
    if (!request.auth.user.isSuperuser) throw new PermissionException('Superuser privileges required')
  })
}

/**
 * The caller of a guarded route.
 * @throws {AuthenticationException} when the route forgot its guard
 */
export function callerOf(request: FastifyRequest): User {
  if (!request.auth) throw new AuthenticationException()
  return request.auth.user
}

/**
 * The session of a Bearer-guarded route's caller.
 * @throws {AuthenticationException} for a request not authenticated by an access token
 */
export function sessionOf(request: FastifyRequest): string {
  if (request.auth?.via !== 'bearer') throw new AuthenticationException()
  return request.auth.sessionId
}
