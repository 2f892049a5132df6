import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AuthenticationException, PermissionException } from '../../../exceptions.ts'
import { Envelope, NullEnvelope, responses } from '../../../schemas/base.ts'
import {
  CsrfBody,
  ForgotBody,
  LoginBody,
  type LoginInput,
  RefreshBody,
  type RefreshInput,
  ResetBody,
  type ResetInput,
  TokenBody,
  TokenPair,
} from '../../../schemas/token.ts'
import { RegisterBody, type RegisterInput, UserPublic } from '../../../schemas/user.ts'
import type { IssuedSession } from '../../../services/auth_service.ts'
import { ok } from '../../../utils/helpers.ts'
import { BEARER_ONLY, callerOf, sessionOf } from '../../deps.ts'
import type { V1Context } from '../router.ts'

const REFRESH_COOKIE = 'refresh_token'
const CSRF_COOKIE = 'csrf_token'
const tags = ['auth']

/** An optional JSON body: a request without one is treated as `{}`. */
async function emptyBodyIsObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {}
}

/**
 * Registers the authentication routes of API.md.
 * @param app the Fastify instance scoped to `/api/v1`
 * @param context the services and settings
 */
export async function authRoutes(
  app: FastifyInstance,
  { auth, users, settings, signer }: V1Context,
): Promise<void> {
  const secure = settings.appEnv !== 'development'
  const allowedOrigins = new Set(settings.corsOrigins)

  function setSessionCookies(reply: FastifyReply, session: IssuedSession): void {
    reply.setCookie(REFRESH_COOKIE, session.tokens.refresh_token, {
      httpOnly: true,
      sameSite: 'strict',
      secure,
      path: '/api/v1/auth',
      maxAge: settings.refreshTokenTtlSeconds,
    })
    setCsrfCookie(reply, signer.signCsrf(session.sessionId))
  }

  /** The CSRF cookie is readable by scripts: they copy it into `X-CSRF-Token`. */
  function setCsrfCookie(reply: FastifyReply, csrf: string): void {
    reply.setCookie(CSRF_COOKIE, csrf, {
      httpOnly: false,
      sameSite: 'strict',
      secure,
      path: '/',
      maxAge: settings.refreshTokenTtlSeconds,
    })
  }

  function clearSessionCookies(reply: FastifyReply): void {
    reply.clearCookie(REFRESH_COOKIE, { path: '/api/v1/auth' })
    reply.clearCookie(CSRF_COOKIE, { path: '/' })
  }

  /** A cookie-borne refresh token is ambient: it needs the signed, session-bound CSRF token and an allowed Origin. */
  async function cookieRefreshToken(request: FastifyRequest): Promise<string> {
    const token = request.cookies[REFRESH_COOKIE]
    if (!token) throw new AuthenticationException('Refresh token missing')
    const origin = request.headers.origin
    if (origin !== undefined && !allowedOrigins.has(origin) && !allowedOrigins.has('*')) {
      throw new PermissionException('Origin not allowed')
    }
    const header = request.headers['x-csrf-token']
    if (typeof header !== 'string' || header !== request.cookies[CSRF_COOKIE]) {
      throw new PermissionException('CSRF token missing or invalid')
    }
    const session = await auth.sessionOf(token)
    if (!session) throw new AuthenticationException('Invalid or expired refresh token')
    if (!signer.verifyCsrf(header, session.sessionId))
      throw new PermissionException('CSRF token missing or invalid')
    return token
  }

  app.post<{ Body: RegisterInput }>(
    '/auth/register',
    {
      schema: {
        tags,
        summary: 'Create an account',
        body: RegisterBody,
        response: responses({ 201: Envelope(UserPublic) }, [400, 409, 415, 422]),
      },
      config: { rateLimit: { bucket: 'signup', max: settings.rateLimit.signupPerHour, windowSeconds: 3600 } },
    },
    async (request, reply) =>
      reply.code(201).send(ok(await users.toPublic(await auth.register(request.body)), 201)),
  )

  app.post<{ Body: LoginInput }>(
    '/auth/login',
    {
      schema: {
        tags,
        summary: 'Log in; also sets the refresh and CSRF cookies',
        body: LoginBody,
        response: responses({ 200: Envelope(TokenPair) }, [400, 401, 415, 422]),
      },
      config: { rateLimit: { bucket: 'login', max: settings.rateLimit.loginPerMinute, windowSeconds: 60 } },
    },
    async (request, reply) => {
      const session = await auth.login(request.body)
      setSessionCookies(reply, session)
      return ok(session.tokens)
    },
  )

  app.post<{ Body: RefreshInput }>(
    '/auth/refresh',
    {
      schema: {
        tags,
        summary: 'Rotate a refresh token (body, or cookie with X-CSRF-Token)',
        description:
          'Without a body token the refresh cookie is used and `X-CSRF-Token` must equal the `csrf_token` cookie (403 otherwise).',
        body: RefreshBody,
        response: responses({ 200: Envelope(TokenPair) }, [400, 401, 403, 415, 422]),
      },
      preValidation: emptyBodyIsObject,
    },
    async (request, reply) => {
      const token = request.body.refresh_token ?? (await cookieRefreshToken(request))
      const session = await auth.refresh(token)
      setSessionCookies(reply, session)
      return ok(session.tokens)
    },
  )

  app.post<{ Body: RefreshInput }>(
    '/auth/logout',
    {
      schema: {
        tags,
        summary: 'End the current session',
        security: BEARER_ONLY,
        body: RefreshBody,
        response: responses({ 200: NullEnvelope }, [401, 403, 415, 422]),
      },
      preValidation: emptyBodyIsObject,
      preHandler: app.requireBearer,
    },
    async (request, reply) => {
      const token = request.body.refresh_token ?? request.cookies[REFRESH_COOKIE]
      await auth.logout(callerOf(request).id, sessionOf(request), token)
      clearSessionCookies(reply)
      return ok(null)
    },
  )

  app.post(
    '/auth/logout-all',
    {
      schema: {
        tags,
        summary: 'End every session of the caller',
        security: BEARER_ONLY,
        response: responses({ 200: NullEnvelope }, [401, 403]),
      },
      preHandler: app.requireBearer,
    },
    async (request, reply) => {
      await auth.logoutAll(callerOf(request).id)
      clearSessionCookies(reply)
      return ok(null)
    },
  )

  app.get(
    '/auth/csrf',
    {
      schema: {
        tags,
        summary: "A CSRF token bound to the refresh cookie's session; also sets the csrf_token cookie",
        response: responses({ 200: Envelope(CsrfBody) }, [401]),
      },
    },
    async (request, reply) => {
      const token = request.cookies[REFRESH_COOKIE]
      const session = token ? await auth.sessionOf(token) : null
      if (!session) throw new AuthenticationException('Refresh cookie missing or invalid')
      const csrf = signer.signCsrf(session.sessionId)
      setCsrfCookie(reply, csrf)
      return ok({ csrf_token: csrf })
    },
  )

  app.post<{ Body: { token: string } }>(
    '/auth/verify-email',
    {
      schema: {
        tags,
        summary: 'Verify the email with the mailed token (single use)',
        body: TokenBody,
        response: responses({ 200: Envelope(UserPublic) }, [400, 415, 422]),
      },
    },
    async (request) => ok(await users.toPublic(await auth.verifyEmail(request.body.token))),
  )

  app.post(
    '/auth/verify-email/resend',
    {
      schema: {
        tags,
        summary: 'Mail a new verification link',
        security: BEARER_ONLY,
        response: responses({ 202: NullEnvelope }, [401, 403]),
      },
      preHandler: app.requireBearer,
    },
    async (request, reply) => {
      await auth.resendVerification(callerOf(request))
      return reply.code(202).send(ok(null, 202))
    },
  )

  app.post<{ Body: { email: string } }>(
    '/auth/password/forgot',
    {
      schema: {
        tags,
        summary: 'Mail a password reset link; answers the same for unknown emails',
        body: ForgotBody,
        response: responses({ 202: NullEnvelope }, [415, 422]),
      },
      config: { rateLimit: { bucket: 'forgot', max: settings.rateLimit.signupPerHour, windowSeconds: 3600 } },
    },
    async (request, reply) => {
      await auth.forgotPassword(request.body.email)
      return reply.code(202).send(ok(null, 202))
    },
  )

  app.post<{ Body: ResetInput }>(
    '/auth/password/reset',
    {
      schema: {
        tags,
        summary: 'Set a new password with the mailed token; ends every session',
        body: ResetBody,
        response: responses({ 200: NullEnvelope }, [400, 415, 422]),
      },
    },
    async (request) => {
      await auth.resetPassword(request.body.token, request.body.new_password)
      return ok(null)
    },
  )
}
