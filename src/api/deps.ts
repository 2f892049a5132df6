import type {} from '@fastify/cookie'
import type {} from '@fastify/multipart'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TokenSigner } from '../core/security.ts'
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

async function authenticate(request: FastifyRequest, deps: AuthDeps): Promise<AuthContext | null> {
  const header = request.headers.authorization
  const apiKey = request.headers['x-api-key']
  if (header !== undefined) {
    const [scheme, token, extra] = header.split(' ')
    if (scheme?.toLowerCase() !== 'bearer' || !token || extra !== undefined) {
      throw new AuthenticationException('Malformed Authorization header')
    }
    const claims = await deps.signer.verifyAccess(token)
    const [ended, user] = await Promise.all([
      deps.sessions.isEnded(claims.sid),
      deps.sessions.getUser(claims.sub),
    ])
    if (ended) throw new AuthenticationException('Session has ended')
    if (!user?.isActive) throw new AuthenticationException('Account is disabled')
    return { user, via: 'bearer', sessionId: claims.sid }
  }
  if (typeof apiKey === 'string') {
    const { user, keyId } = await deps.apiKeys.authenticate(apiKey)
    return { user, via: 'api_key', apiKeyId: keyId }
  }
  return null
}

/**
 * Installs the one authentication hook (Bearer or `X-API-Key`) and the guards. Refused credentials
 * do not stop the request at once: the rate limiter (a later `onRequest` hook) counts it against the
 * client's IP first, then the error is raised. A dependency failure (cache down) is raised at once.
 *
 * @param app the Fastify instance, before the rate limiter is registered
 * @param deps the token signer, sessions and API keys
 */
export function registerAuth(app: FastifyInstance, deps: AuthDeps): void {
  app.decorateRequest('auth', null)
  app.decorateRequest('authError', null)

  app.addHook('onRequest', async (request) => {
    try {
      request.auth = await authenticate(request, deps)
      if (request.auth) request.rateLimitSubject = request.auth.user.id
    } catch (error) {
      if (!(error instanceof AuthenticationException)) throw error
      request.authError = error
    }
  })
  app.addHook('preValidation', async (request) => {
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
