import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { users } from '../../src/models/user.ts'
import { createTestApp, type TestApp } from '../support/app.ts'
import { type Account, bearer, createUser, loginAs, promote, type Session } from '../support/auth.ts'
import { unique } from '../support/factories.ts'

const PNG = Buffer.concat([
  Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'),
  Buffer.alloc(64, 7),
])

function multipart(field: string, filename: string, content: Buffer, type = 'application/octet-stream') {
  const boundary = `----folio${unique()}`
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`,
    ),
    content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

describe('users', () => {
  let t: TestApp
  let alice: Account
  let aliceSession: Session
  let admin: Account
  let adminSession: Session

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_ENABLED: 'false' })
    alice = await createUser(t.app, { full_name: 'Alice' })
    aliceSession = await loginAs(t.app, alice)
    admin = await createUser(t.app)
    await promote(t.app, admin)
    adminSession = await loginAs(t.app, admin)
  })
  afterAll(() => t.close())

  describe('GET /api/v1/users/me', () => {
    it('returns the caller with a Bearer token', async () => {
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/v1/users/me',
        headers: bearer(aliceSession),
      })
      expect(res.statusCode).toBe(200)
      expect(res.json().data).toMatchObject({ id: alice.id, email: alice.email, full_name: 'Alice' })
    })

    it.each([
      [{}, 'no credentials'],
      [{ authorization: 'Bearer not.a.jwt' }, 'a malformed token'],
      [{ authorization: 'Basic abc' }, 'another scheme'],
      [{ 'x-api-key': 'folio_nope' }, 'an unknown API key'],
    ])('answers 401 with %j (%s)', async (headers, _label) => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers })
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toBe('Bearer')
      expect(res.json().code).toBe(401)
    })
  })

  describe('PATCH /api/v1/users/me', () => {
    it('updates the name and the username', async () => {
      const account = await createUser(t.app)
      const session = await loginAs(t.app, account)
      const name = `New_${unique()}`
      const res = await t.app.inject({
        method: 'PATCH',
        url: '/api/v1/users/me',
        headers: bearer(session),
        payload: { full_name: 'Renamed', username: name },
      })
      expect(res.statusCode).toBe(200)
      expect(res.json().data).toMatchObject({ full_name: 'Renamed', username: name.toLowerCase() })
      const me = await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(session) })
      expect(me.json().data.username).toBe(name.toLowerCase())
    })

    it('refuses is_superuser with 422 (no mass assignment)', async () => {
      const res = await t.app.inject({
        method: 'PATCH',
        url: '/api/v1/users/me',
        headers: bearer(aliceSession),
        payload: { is_superuser: true },
      })
      expect(res.statusCode).toBe(422)
      const me = await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(aliceSession) })
      expect(me.json().data.is_superuser).toBe(false)
    })

    it('answers 409 for a taken username', async () => {
      const res = await t.app.inject({
        method: 'PATCH',
        url: '/api/v1/users/me',
        headers: bearer(aliceSession),
        payload: { username: admin.username },
      })
      expect(res.statusCode).toBe(409)
    })
  })

  describe('PUT /api/v1/users/me/password', () => {
    it("changes the password and ends every other session, keeping the caller's", async () => {
      const account = await createUser(t.app)
      const caller = await loginAs(t.app, account)
      const other = await loginAs(t.app, account)
      const res = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/users/me/password',
        headers: bearer(caller),
        payload: { current_password: account.password, new_password: 'changed-password-1' },
      })
      expect(res.statusCode).toBe(200)
      expect(
        (await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(caller) })).statusCode,
      ).toBe(200)
      expect(
        (await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(other) })).statusCode,
      ).toBe(401)
      await loginAs(t.app, { email: account.email, password: 'changed-password-1' })
    })

    it('answers 400 for a wrong current password and 403 with an API key', async () => {
      const wrong = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/users/me/password',
        headers: bearer(aliceSession),
        payload: { current_password: 'not-it', new_password: 'changed-password-1' },
      })
      expect(wrong.statusCode).toBe(400)
      const key = await t.app.inject({
        method: 'POST',
        url: '/api/v1/api-keys',
        headers: bearer(aliceSession),
        payload: { name: 'k' },
      })
      const withKey = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/users/me/password',
        headers: { 'x-api-key': key.json().data.key },
        payload: { current_password: alice.password, new_password: 'changed-password-1' },
      })
      expect(withKey.statusCode).toBe(403)
    })
  })

  describe('PUT /api/v1/users/me/avatar', () => {
    it('stores a PNG decided by its bytes and returns a working avatar_url', async () => {
      const account = await createUser(t.app)
      const session = await loginAs(t.app, account)
      const upload = multipart('file', 'me.bin', PNG)
      const res = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/users/me/avatar',
        headers: { ...bearer(session), ...upload.headers },
        payload: upload.payload,
      })
      expect(res.statusCode).toBe(200)
      const url = res.json().data.avatar_url as string
      expect(url).toMatch(/^https?:\/\//)
      const download = await t.app.inject({ method: 'GET', url: url.replace(/^https?:\/\/[^/]+/, '') })
      if (t.app.infra.storage.mode === 'embedded') {
        expect(download.statusCode).toBe(200)
        expect(download.rawPayload.equals(PNG)).toBe(true)
      }
      const [row] = await t.app.infra.database.db.select().from(users).where(eq(users.id, account.id))
      expect(await t.app.infra.storage.stat(row!.avatarKey!)).toMatchObject({ size: PNG.length })

      const second = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/users/me/avatar',
        headers: { ...bearer(session), ...upload.headers },
        payload: upload.payload,
      })
      expect(second.statusCode).toBe(200)
      expect(await t.app.infra.storage.stat(row!.avatarKey!)).toBeNull()
    })

    it('refuses a .png name with other bytes (415), a large file (413) and a JSON body (415)', async () => {
      const fake = multipart('file', 'cat.png', Buffer.from('just some text, not an image'), 'image/png')
      const res = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/users/me/avatar',
        headers: { ...bearer(aliceSession), ...fake.headers },
        payload: fake.payload,
      })
      expect(res.statusCode).toBe(415)
      const big = multipart('file', 'big.png', Buffer.concat([PNG, Buffer.alloc(5 * 1024 * 1024 + 1)]))
      const tooLarge = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/users/me/avatar',
        headers: { ...bearer(aliceSession), ...big.headers },
        payload: big.payload,
      })
      expect(tooLarge.statusCode).toBe(413)
      const json = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/users/me/avatar',
        headers: bearer(aliceSession),
        payload: { file: 'x' },
      })
      expect(json.statusCode).toBe(415)
    })
  })

  describe('DELETE /api/v1/users/me', () => {
    it('soft-deletes the caller and ends their sessions', async () => {
      const account = await createUser(t.app)
      const session = await loginAs(t.app, account)
      const res = await t.app.inject({ method: 'DELETE', url: '/api/v1/users/me', headers: bearer(session) })
      expect(res.statusCode).toBe(200)
      expect(res.json().data).toBeNull()
      expect(
        (await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(session) })).statusCode,
      ).toBe(401)
      await expect(loginAs(t.app, account)).rejects.toThrow(/401/)
      const [row] = await t.app.infra.database.db.select().from(users).where(eq(users.id, account.id))
      expect(row?.deletedAt).toBeInstanceOf(Date)
    })
  })

  describe('administration', () => {
    it('gives a non-superuser 403 on every admin route', async () => {
      const routes = [
        ['GET', '/api/v1/users'],
        ['GET', `/api/v1/users/${admin.id}`],
        ['PATCH', `/api/v1/users/${admin.id}`],
        ['DELETE', `/api/v1/users/${admin.id}`],
      ] as const
      for (const [method, url] of routes) {
        const res = await t.app.inject({
          method,
          url,
          headers: bearer(aliceSession),
          ...(method === 'PATCH' ? { payload: {} } : {}),
        })
        expect(res.statusCode, `${method} ${url}`).toBe(403)
      }
    })

    it('lists users newest first with search and the active filter', async () => {
      const tag = unique()
      const first = await createUser(t.app, { full_name: `Zed ${tag}` })
      const second = await createUser(t.app, { full_name: `Zed ${tag.toUpperCase()}` })
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/v1/users?q=${tag}&size=10`,
        headers: bearer(adminSession),
      })
      expect(res.statusCode).toBe(200)
      const page = res.json().data
      expect(page.items.map((u: { id: string }) => u.id)).toEqual([second.id, first.id])
      expect(page.meta).toEqual({ total: 2, page: 1, size: 10, pages: 1, has_next: false, has_prev: false })
      await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${first.id}`,
        headers: bearer(adminSession),
        payload: { is_active: false },
      })
      const inactive = await t.app.inject({
        method: 'GET',
        url: `/api/v1/users?q=${tag}&is_active=false`,
        headers: bearer(adminSession),
      })
      expect(inactive.json().data.items.map((u: { id: string }) => u.id)).toEqual([first.id])
      const bad = await t.app.inject({
        method: 'GET',
        url: '/api/v1/users?size=101',
        headers: bearer(adminSession),
      })
      expect(bad.statusCode).toBe(422)
    })

    it('reads, updates and deletes a user; 404 for unknown ids', async () => {
      const target = await createUser(t.app)
      const read = await t.app.inject({
        method: 'GET',
        url: `/api/v1/users/${target.id}`,
        headers: bearer(adminSession),
      })
      expect(read.json().data.email).toBe(target.email)
      const patch = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${target.id}`,
        headers: bearer(adminSession),
        payload: { is_verified: true, full_name: 'Checked' },
      })
      expect(patch.json().data).toMatchObject({ is_verified: true, full_name: 'Checked' })
      const del = await t.app.inject({
        method: 'DELETE',
        url: `/api/v1/users/${target.id}`,
        headers: bearer(adminSession),
      })
      expect(del.statusCode).toBe(200)
      const gone = await t.app.inject({
        method: 'GET',
        url: `/api/v1/users/${target.id}`,
        headers: bearer(adminSession),
      })
      expect(gone.statusCode).toBe(404)
      const unknown = await t.app.inject({
        method: 'PATCH',
        url: '/api/v1/users/0192f0d2-7b1e-7cc0-9a4e-3c6a0e5b1f00',
        headers: bearer(adminSession),
        payload: {},
      })
      expect(unknown.statusCode).toBe(404)
    })

    it("refuses a deactivated user's live token at once", async () => {
      const target = await createUser(t.app)
      const session = await loginAs(t.app, target)
      expect(
        (await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(session) })).statusCode,
      ).toBe(200)
      await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${target.id}`,
        headers: bearer(adminSession),
        payload: { is_active: false },
      })
      expect(
        (await t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(session) })).statusCode,
      ).toBe(401)
      const refresh = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refresh_token: session.refresh },
      })
      expect(refresh.statusCode).toBe(401)
      await expect(loginAs(t.app, target)).rejects.toThrow(/401/)
    })

    it('keeps superusers from deactivating themselves (400)', async () => {
      const res = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${admin.id}`,
        headers: bearer(adminSession),
        payload: { is_active: false },
      })
      expect(res.statusCode).toBe(400)
    })
  })
})
