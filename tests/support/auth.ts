import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { users } from '../../src/models/user.ts'
import { unique } from './factories.ts'

/** A registered user and what it takes to log in as them. */
export interface Account {
  id: string
  email: string
  username: string
  password: string
}

/** Tokens of a logged-in account. */
export interface Session {
  access: string
  refresh: string
  cookies: Record<string, string>
}

/**
 * Registers a user through the API.
 * @param app the app
 * @param overrides body fields to set
 */
export async function createUser(
  app: FastifyInstance,
  overrides: Record<string, unknown> = {},
): Promise<Account> {
  const id = unique()
  const body = {
    email: `u-${id}@example.com`,
    username: `u_${id}`,
    password: `pw-${id}-secret`,
    ...overrides,
  }
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: body })
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`)
  const user = res.json().data
  return { id: user.id, email: user.email, username: user.username, password: String(body.password) }
}

/**
 * Logs in through the API.
 * @param app the app
 * @param account who
 */
export async function loginAs(
  app: FastifyInstance,
  account: Pick<Account, 'email' | 'password'>,
): Promise<Session> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: account.email, password: account.password },
  })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  const cookies = Object.fromEntries(res.cookies.map((c) => [c.name, c.value]))
  return { access: res.json().data.access_token, refresh: res.json().data.refresh_token, cookies }
}

/** Makes an account a superuser directly in the database (there is no API to become one). */
export async function promote(app: FastifyInstance, account: Account): Promise<void> {
  await app.infra.database.db.update(users).set({ isSuperuser: true }).where(eq(users.id, account.id))
  await app.infra.cache.del(`user:${account.id}`)
}

/** The Authorization header of a session. */
export function bearer(session: Session): Record<string, string> {
  return { authorization: `Bearer ${session.access}` }
}
