import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { jwtVerify } from 'jose'
import type postgres from 'postgres'
import { type ServiceReply, type SetupContext, sendJson } from './scenario.ts'
import { BENCH_JWT_SECRET } from './servers.ts'

/**
 * What the identity scenarios share: a user made through the API in `setup`, and the bare server's
 * least-work equivalents of the service's steps (JWT checks with jose, rows read with postgres.js).
 */

/** The password of every bench user; always the right one, so no login ever counts as a failure. */
export const BENCH_PASSWORD = 'bench-password-correct-horse'
/** The key the service signs access tokens with (the bench's fixed `JWT_SECRET`, HS256). */
export const JWT_KEY = new TextEncoder().encode(BENCH_JWT_SECRET)
/** The issuer and audience the service sets and checks on access tokens. */
export const JWT_ISSUER = 'folio'
export const JWT_AUDIENCE = 'folio-api'
/** The service's default access-token lifetime (`ACCESS_TOKEN_TTL_SECONDS`). */
export const ACCESS_TTL_SECONDS = 900

/** A user of one scenario, registered and logged in through the API. */
export interface BenchUser {
  id: string
  email: string
  password: string
  accessToken: string
}

/** The columns of `users` the public User is made of, as postgres.js returns them. */
export interface UserRow {
  id: string
  email: string
  username: string
  full_name: string | null
  is_active: boolean | null
  is_superuser: boolean | null
  is_verified: boolean | null
  created_at: Date
  updated_at: Date
}

/**
 * Throws unless a setup request answered the expected status.
 * @param reply the service's reply
 * @param status the expected status
 * @param what the step, for the error
 * @returns the envelope's `data`
 */
export function expectData<T>(reply: ServiceReply, status: number, what: string): T {
  if (reply.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`)
  }
  return (reply.body as { data: T }).data
}

/**
 * Registers a fresh user through the API and logs in.
 * @param ctx the setup context of the live service
 * @param tag a word for the email and username, e.g. the scenario
 * @returns the user and an access token
 */
export async function registerAndLogin(ctx: SetupContext, tag: string): Promise<BenchUser> {
  const suffix = randomBytes(5).toString('hex')
  const email = `bench-${tag}-${suffix}@example.com`
  const user = expectData<{ id: string }>(
    await ctx.request('POST', '/api/v1/auth/register', {
      body: { email, username: `bench_${suffix}`, password: BENCH_PASSWORD, full_name: 'Bench User' },
    }),
    201,
    'register',
  )
  const tokens = expectData<{ access_token: string }>(
    await ctx.request('POST', '/api/v1/auth/login', { body: { email, password: BENCH_PASSWORD } }),
    200,
    'login',
  )
  return { id: user.id, email, password: BENCH_PASSWORD, accessToken: tokens.access_token }
}

/**
 * The public User of a row, field for field as the service's response schema orders it.
 * @param row the user's row (no avatar: bench users never upload one)
 */
export function publicUser(row: UserRow) {
  return {
    id: row.id,
    email: row.email,
    username: row.username,
    full_name: row.full_name,
    avatar_url: null,
    is_active: row.is_active ?? true,
    is_superuser: row.is_superuser ?? false,
    is_verified: row.is_verified ?? false,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

/**
 * One live user by id, in one indexed query.
 * @param sql the postgres.js client
 * @param id the user id
 */
export async function userById(sql: postgres.Sql, id: string): Promise<UserRow | undefined> {
  const rows = await sql<UserRow[]>`
    SELECT id, email, username, full_name, is_active, is_superuser, is_verified, created_at, updated_at
    FROM users WHERE id = ${id} AND deleted_at IS NULL`
  return rows[0]
}

/**
 * The subject of a valid access token: the service's checks (HS256 only, issuer, audience, expiry,
 * type), with jose.
 * @param authorization the `Authorization` header
 * @returns the user id, or null for a missing or invalid token
 */
export async function bearerSubject(authorization: string | undefined): Promise<string | null> {
  if (!authorization?.startsWith('Bearer ')) return null
  try {
    const { payload } = await jwtVerify(authorization.slice(7), JWT_KEY, {
      algorithms: ['HS256'],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
    })
    return payload.type === 'access' && typeof payload.sid === 'string' ? (payload.sub ?? null) : null
  } catch {
    return null
  }
}

/**
 * Answers `GET /users/me` for a user row: the User envelope, or 401 when there is no active user.
 * @param res the response
 * @param row the caller's row, if found
 */
export function sendMe(res: ServerResponse, row: UserRow | undefined): void {
  if (!row?.is_active) {
    sendJson(
      res,
      401,
      { code: 401, message: 'Not authenticated', detail: null },
      { 'www-authenticate': 'Bearer' },
    )
    return
  }
  sendJson(res, 200, { code: 200, message: 'success', data: publicUser(row) })
}

/**
 * Reads a whole request body as text.
 * @param req the request
 */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
