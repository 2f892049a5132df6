import { randomBytes, randomUUID } from 'node:crypto'
import bcrypt from 'bcrypt'
import { SignJWT } from 'jose'
import postgres from 'postgres'
import {
  ACCESS_TTL_SECONDS,
  BENCH_PASSWORD,
  JWT_AUDIENCE,
  JWT_ISSUER,
  JWT_KEY,
  readBody,
  registerAndLogin,
} from '../identity.ts'
import { type Scenario, sendJson } from '../scenario.ts'
import { BENCH_BCRYPT_ROUNDS } from '../servers.ts'

/** The refresh cookie's lifetime: the service's default `REFRESH_TOKEN_TTL_SECONDS`. */
const REFRESH_TTL_SECONDS = 2_592_000

/** Refuses to measure logins at a cost other than production's: the ratio would mean nothing. */
async function assertHashCost(databaseUrl: string, email: string): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<{ hashed_password: string }[]>`
      SELECT hashed_password FROM users WHERE email = ${email}`
    const cost = Number(row?.hashed_password.split('$')[2])
    if (cost !== BENCH_BCRYPT_ROUNDS)
      throw new Error(`bench user hashed at cost ${cost}, not ${BENCH_BCRYPT_ROUNDS}`)
  } finally {
    await sql.end()
  }
}

function sessionCookies(refreshToken: string): string[] {
  const csrf = `${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`
  return [
    `refresh_token=${refreshToken}; Max-Age=${REFRESH_TTL_SECONDS}; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict`,
    `csrf_token=${csrf}; Max-Age=${REFRESH_TTL_SECONDS}; Path=/; Secure; SameSite=Strict`,
  ]
}

/**
 * Logging in (issue 4), always with the right password (5 failures would lock the account). Both
 * sides pay one bcrypt comparison at the production cost 12 on libuv's thread pool, which dominates:
 * the bare server reads the user by email with postgres.js, compares, and signs a JWT with jose.
 * Few connections (twice the 4 threads of libuv's pool): a login takes about 0.3 s of CPU, so a
 * deeper queue only adds latency. Runs last at least 15 s, as a few logins a second are too few to
 * sample in 5; each run is drained before the next, so no run pays for its predecessor's queue.
 */
const authLogin: Scenario = {
  name: 'auth_login',
  method: 'POST',
  path: '/api/v1/auth/login',
  target: 0.9,
  connections: 8,
  drain: true,
  minDurationS: 15,
  async setup(ctx) {
    const user = await registerAndLogin(ctx, 'login')
    await assertHashCost(ctx.databaseUrl, user.email)
    return { body: { email: user.email, password: BENCH_PASSWORD } }
  },
  bare: async (req, res, ctx) => {
    const input = JSON.parse(await readBody(req)) as { email: string; password: string }
    const [user] = await ctx.sql()<{ id: string; hashed_password: string; is_active: boolean | null }[]>`
      SELECT id, hashed_password, is_active FROM users
      WHERE email = ${input.email.toLowerCase()} AND deleted_at IS NULL`
    if (!user || !(await bcrypt.compare(input.password, user.hashed_password)) || user.is_active === false) {
      return sendJson(res, 401, { code: 401, message: 'Incorrect email or password', detail: null })
    }
    const accessToken = await new SignJWT({ sid: randomUUID(), type: 'access' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.id)
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${ACCESS_TTL_SECONDS}s`)
      .sign(JWT_KEY)
    const refreshToken = randomBytes(32).toString('base64url')
    const data = {
      access_token: accessToken,
      refresh_token: refreshToken,
      token_type: 'bearer',
      expires_in: ACCESS_TTL_SECONDS,
    }
    sendJson(
      res,
      200,
      { code: 200, message: 'success', data },
      { 'set-cookie': sessionCookies(refreshToken) },
    )
  },
}

export default authLogin
