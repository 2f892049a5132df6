import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { actionTokens } from '../../src/models/action_token.ts'
import { refreshTokens } from '../../src/models/refresh_token.ts'
import { createTestApp, type TestApp } from '../support/app.ts'
import { bearer, createUser, loginAs } from '../support/auth.ts'
import { unique } from '../support/factories.ts'
import { type MailCapture, startMailCapture } from '../support/mail.ts'

describe('authentication', () => {
  let t: TestApp
  let mail: MailCapture

  beforeAll(async () => {
    mail = await startMailCapture()
    t = await createTestApp({
      SMTP_URL: mail.url,
      RATE_LIMIT_ENABLED: 'false',
      CORS_ORIGINS: 'https://app.example.com',
      PUBLIC_BASE_URL: 'https://folio.example.com',
    })
  })
  afterAll(async () => {
    await t.close()
    await mail.close()
  })

  describe('POST /api/v1/auth/register', () => {
    it('creates a user with the email and username lower-cased', async () => {
      const id = unique()
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: {
          email: `Mixed-${id}@Example.COM`,
          username: `Mixed_${id}`,
          password: 'long-enough-1',
          full_name: 'Mixed Case',
        },
      })
      expect(res.statusCode).toBe(201)
      const body = res.json()
      expect(body.code).toBe(201)
      expect(body.data).toMatchObject({
        email: `mixed-${id}@example.com`,
        username: `mixed_${id}`,
        full_name: 'Mixed Case',
        avatar_url: null,
        is_active: true,
        is_superuser: false,
        is_verified: false,
      })
      expect(body.data.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      expect(body.data).not.toHaveProperty('hashed_password')
      expect(body.data).not.toHaveProperty('deleted_at')
    })

    it('answers 409 for a taken email or username', async () => {
      const account = await createUser(t.app)
      const sameEmail = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: {
          email: account.email.toUpperCase(),
          username: `other_${unique()}`,
          password: 'long-enough-1',
        },
      })
      expect(sameEmail.statusCode).toBe(409)
      expect(sameEmail.json()).toMatchObject({ code: 409, message: 'Email already registered' })
      const sameName = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: {
          email: `x-${unique()}@example.com`,
          username: account.username,
          password: 'long-enough-1',
        },
      })
      expect(sameName.statusCode).toBe(409)
      expect(sameName.json().message).toBe('Username already taken')
    })

    it('answers 409 to all but one of racing registrations', async () => {
      const payload = {
        email: `race-${unique()}@example.com`,
        username: `race_${unique()}`,
        password: 'long-enough-1',
      }
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload }),
        ),
      )
      expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409, 409])
    })

    it('refuses a password of 73 bytes, never truncating it', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: {
          email: `long-${unique()}@example.com`,
          username: `long_${unique()}`,
          password: `${'a'.repeat(72)}X`,
        },
      })
      expect(res.statusCode).toBe(422)
      // 71 ASCII + one 2-byte character = 73 bytes in 72 characters: refused by the byte count.
      const multibyte = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: {
          email: `mb-${unique()}@example.com`,
          username: `mb_${unique()}`,
          password: `${'a'.repeat(71)}é`,
        },
      })
      expect(multibyte.statusCode).toBe(422)
      expect(multibyte.json().detail[0].loc).toEqual(['body', 'password'])
    })

    it.each([
      [{ email: 'not-an-email', username: 'valid_name', password: 'long-enough-1' }, 'email'],
      [{ email: 'ok@example.com', username: 'no', password: 'long-enough-1' }, 'username'],
      [{ email: 'ok@example.com', username: 'bad name!', password: 'long-enough-1' }, 'username'],
      [{ email: 'ok@example.com', username: 'valid_name', password: 'short' }, 'password'],
      [
        { email: 'ok@example.com', username: 'valid_name', password: 'long-enough-1', is_superuser: true },
        'is_superuser',
      ],
    ])('answers 422 for %j', async (payload, field) => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload })
      expect(res.statusCode).toBe(422)
      expect(res.json().detail.map((d: { loc: string[] }) => d.loc[1])).toContain(field)
    })

    it('mails a verification link whose token verifies the email once', async () => {
      const account = await createUser(t.app)
      const message = await mail.waitFor(account.email, /verify-email\?token=/)
      const token = /https:\/\/folio\.example\.com\/verify-email\?token=([A-Za-z0-9_-]+)/.exec(
        message.raw,
      )?.[1]
      expect(token).toBeDefined()
      const stored = await t.app.infra.database.db
        .select()
        .from(actionTokens)
        .where(eq(actionTokens.userId, account.id))
      expect(stored.map((s) => s.tokenHash)).not.toContain(token)
      expect(stored[0]?.tokenHash).toMatch(/^[0-9a-f]{64}$/)

      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token } })
      expect(res.statusCode).toBe(200)
      expect(res.json().data).toMatchObject({ id: account.id, is_verified: true })
      const again = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/verify-email',
        payload: { token },
      })
      expect(again.statusCode).toBe(400)
      const bogus = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/verify-email',
        payload: { token: 'nope' },
      })
      expect(bogus.statusCode).toBe(400)
    })
  })

  describe('POST /api/v1/auth/login', () => {
    it('returns a token pair and sets the refresh and CSRF cookies', async () => {
      const account = await createUser(t.app)
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: account.email.toUpperCase(), password: account.password },
      })
      expect(res.statusCode).toBe(200)
      const data = res.json().data
      expect(data).toMatchObject({ token_type: 'bearer', expires_in: 900 })
      expect(data.access_token.split('.')).toHaveLength(3)
      expect(Buffer.from(data.refresh_token, 'base64url').length).toBeGreaterThanOrEqual(32)
      const refresh = res.cookies.find((c) => c.name === 'refresh_token')
      expect(refresh).toMatchObject({
        httpOnly: true,
        sameSite: 'Strict',
        path: '/api/v1/auth',
        secure: true,
      })
      const csrf = res.cookies.find((c) => c.name === 'csrf_token')
      expect(csrf?.httpOnly).toBeFalsy()
      const rows = await t.app.infra.database.db
        .select()
        .from(refreshTokens)
        .where(eq(refreshTokens.userId, account.id))
      expect(rows).toHaveLength(1)
      expect(rows[0]?.token).toMatch(/^[0-9a-f]{64}$/)
      expect(rows[0]?.token).not.toBe(data.refresh_token)
    })

    it('answers unknown email and wrong password with the same 401', async () => {
      const account = await createUser(t.app)
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: account.email, password: 'wrong-password' },
      })
      const unknown = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: `nobody-${unique()}@example.com`, password: 'wrong-password' },
      })
      expect(wrong.statusCode).toBe(401)
      expect(unknown.statusCode).toBe(401)
      expect(wrong.json()).toEqual(unknown.json())
      expect(wrong.headers['www-authenticate']).toBe('Bearer')
    })

    it('locks the account with 429 after 5 failures, even for the right password', async () => {
      const account = await createUser(t.app)
      for (let i = 0; i < 5; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email: account.email, password: 'wrong-password' },
        })
        expect(res.statusCode).toBe(401)
      }
      const locked = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: account.email, password: account.password },
      })
      expect(locked.statusCode).toBe(429)
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800)
    })

    it('never accepts the 73rd byte: "a"*72+"X" cannot log in with "a"*72+"Y"', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: `nobody-${unique()}@example.com`, password: `${'a'.repeat(72)}Y` },
      })
      expect(res.statusCode).toBe(401)
    })
  })

  describe('POST /api/v1/auth/refresh', () => {
    it('rotates the token: the new pair works, the old refresh token is revoked', async () => {
      const session = await loginAs(t.app, await createUser(t.app))
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refresh_token: session.refresh },
      })
      expect(res.statusCode).toBe(200)
      const next = res.json().data
      expect(next.refresh_token).not.toBe(session.refresh)
      const me = await t.app.inject({
        method: 'GET',
        url: '/api/v1/users/me',
        headers: { authorization: `Bearer ${next.access_token}` },
      })
      expect(me.statusCode).toBe(200)
    })

    it('lets exactly one of 20 concurrent refreshes with one token succeed', async () => {
      const session = await loginAs(t.app, await createUser(t.app))
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          t.app.inject({
            method: 'POST',
            url: '/api/v1/auth/refresh',
            payload: { refresh_token: session.refresh },
          }),
        ),
      )
      expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1)
      expect(results.filter((r) => r.statusCode === 401)).toHaveLength(19)
    })

    it('revokes the whole session when a rotated token is re-used', async () => {
      const session = await loginAs(t.app, await createUser(t.app))
      const first = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refresh_token: session.refresh },
      })
      const newest = first.json().data
      const reuse = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refresh_token: session.refresh },
      })
      expect(reuse.statusCode).toBe(401)
      const afterReuse = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refresh_token: newest.refresh_token },
      })
      expect(afterReuse.statusCode).toBe(401)
      const me = await t.app.inject({
        method: 'GET',
        url: '/api/v1/users/me',
        headers: { authorization: `Bearer ${newest.access_token}` },
      })
      expect(me.statusCode).toBe(401)
    })

    it('refreshes from the cookie only with the matching CSRF header and an allowed origin', async () => {
      const session = await loginAs(t.app, await createUser(t.app))
      const cookies = {
        refresh_token: session.cookies.refresh_token!,
        csrf_token: session.cookies.csrf_token!,
      }
      const noHeader = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', cookies })
      expect(noHeader.statusCode).toBe(403)
      const badOrigin = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        cookies,
        headers: { 'x-csrf-token': cookies.csrf_token, origin: 'https://evil.example.com' },
      })
      expect(badOrigin.statusCode).toBe(403)
      const other = await loginAs(t.app, await createUser(t.app))
      const foreign = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        cookies: { ...cookies, csrf_token: other.cookies.csrf_token! },
        headers: { 'x-csrf-token': other.cookies.csrf_token! },
      })
      expect(foreign.statusCode).toBe(403)
      const good = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        cookies,
        headers: { 'x-csrf-token': cookies.csrf_token, origin: 'https://app.example.com' },
      })
      expect(good.statusCode).toBe(200)
    })

    it('answers 401 for an unknown token and without any token', async () => {
      const unknown = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refresh_token: 'x'.repeat(43) },
      })
      expect(unknown.statusCode).toBe(401)
      const none = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh' })
      expect(none.statusCode).toBe(401)
    })
  })

  describe('GET /api/v1/auth/csrf', () => {
    it('issues a token bound to the refresh cookie, 401 without it', async () => {
      const session = await loginAs(t.app, await createUser(t.app))
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/v1/auth/csrf',
        cookies: { refresh_token: session.cookies.refresh_token! },
      })
      expect(res.statusCode).toBe(200)
      const csrf = res.json().data.csrf_token
      expect(res.cookies.find((c) => c.name === 'csrf_token')?.value).toBe(csrf)
      const refresh = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        cookies: { refresh_token: session.cookies.refresh_token!, csrf_token: csrf },
        headers: { 'x-csrf-token': csrf },
      })
      expect(refresh.statusCode).toBe(200)
      const none = await t.app.inject({ method: 'GET', url: '/api/v1/auth/csrf' })
      expect(none.statusCode).toBe(401)
    })
  })

  describe('POST /api/v1/auth/logout and logout-all', () => {
    it('ends the session: the access token fails at once and its refresh token is revoked', async () => {
      const session = await loginAs(t.app, await createUser(t.app))
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(session) })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ code: 200, message: 'success', data: null })
      const me = await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(session) })
      expect(me.statusCode).toBe(401)
      const refresh = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refresh_token: session.refresh },
      })
      expect(refresh.statusCode).toBe(401)
    })

    it('logout-all ends every session of the user', async () => {
      const account = await createUser(t.app)
      const a = await loginAs(t.app, account)
      const b = await loginAs(t.app, account)
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout-all', headers: bearer(a) })
      expect(res.statusCode).toBe(200)
      for (const s of [a, b]) {
        expect(
          (await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(s) })).statusCode,
        ).toBe(401)
        expect(
          (
            await t.app.inject({
              method: 'POST',
              url: '/api/v1/auth/refresh',
              payload: { refresh_token: s.refresh },
            })
          ).statusCode,
        ).toBe(401)
      }
    })

    it('answers 401 without a token and 403 with an API key', async () => {
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout' })).statusCode).toBe(401)
      const session = await loginAs(t.app, await createUser(t.app))
      const key = await t.app.inject({
        method: 'POST',
        url: '/api/v1/api-keys',
        headers: bearer(session),
        payload: { name: 'k' },
      })
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: { 'x-api-key': key.json().data.key },
      })
      expect(res.statusCode).toBe(403)
    })
  })

  describe('password reset', () => {
    it('answers forgot-password the same for unknown emails', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password/forgot',
        payload: { email: `nobody-${unique()}@example.com` },
      })
      expect(res.statusCode).toBe(202)
      expect(res.json()).toEqual({ code: 202, message: 'success', data: null })
    })

    it('mails a single-use reset link that sets the password and ends every session', async () => {
      const account = await createUser(t.app)
      const session = await loginAs(t.app, account)
      const forgot = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password/forgot',
        payload: { email: account.email },
      })
      expect(forgot.statusCode).toBe(202)
      const message = await mail.waitFor(account.email, /reset-password\?token=/)
      const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(message.raw)?.[1]
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password/reset',
        payload: { token, new_password: 'brand-new-password' },
      })
      expect(res.statusCode).toBe(200)
      expect(
        (await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(session) })).statusCode,
      ).toBe(401)
      await expect(loginAs(t.app, { email: account.email, password: account.password })).rejects.toThrow(
        /401/,
      )
      await loginAs(t.app, { email: account.email, password: 'brand-new-password' })
      const again = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password/reset',
        payload: { token, new_password: 'another-password' },
      })
      expect(again.statusCode).toBe(400)
    })

    it('resend mails a new verification link (Bearer)', async () => {
      const account = await createUser(t.app)
      await mail.waitFor(account.email, /verify-email/)
      const session = await loginAs(t.app, account)
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/verify-email/resend',
        headers: bearer(session),
      })
      expect(res.statusCode).toBe(202)
      await expect
        .poll(
          () => mail.mails.filter((m) => m.to.includes(account.email) && /verify-email/.test(m.raw)).length,
          { timeout: 10_000 },
        )
        .toBe(2)
    })
  })
})
