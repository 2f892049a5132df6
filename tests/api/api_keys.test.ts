import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeys } from '../../src/models/api_key.ts'
import { createTestApp, type TestApp } from '../support/app.ts'
import { bearer, createUser, loginAs } from '../support/auth.ts'

describe('API keys', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_ENABLED: 'false' })
  })
  afterAll(() => t.close())

  it('creates a key shown once, stores only its hash, and authenticates as the owner', async () => {
    const account = await createUser(t.app)
    const session = await loginAs(t.app, account)
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: bearer(session),
      payload: { name: 'ci', expires_in_days: 30 },
    })
    expect(res.statusCode).toBe(201)
    const created = res.json().data
    expect(created).toMatchObject({ name: 'ci', last_used_at: null })
    expect(created.key.startsWith(`${created.prefix}_`)).toBe(true)
    expect(Date.parse(created.expires_at) - Date.now()).toBeGreaterThan(29 * 86_400_000)

    const [row] = await t.app.infra.database.db.select().from(apiKeys).where(eq(apiKeys.id, created.id))
    expect(row?.keyHash).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.stringify(row)).not.toContain(created.key)

    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { 'x-api-key': created.key },
    })
    expect(me.statusCode).toBe(200)
    expect(me.json().data.id).toBe(account.id)

    const list = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: bearer(session) })
    expect(list.statusCode).toBe(200)
    expect(list.json().data).toEqual([expect.objectContaining({ id: created.id, name: 'ci' })])
    expect(list.json().data[0]).not.toHaveProperty('key')
    await expect
      .poll(
        async () =>
          list.json().data[0] &&
          (await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: bearer(session) })).json()
            .data[0].last_used_at,
      )
      .not.toBeNull()
  })

  it("stops working at once when revoked; another user's key is 404", async () => {
    const session = await loginAs(t.app, await createUser(t.app))
    const created = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/api-keys',
        headers: bearer(session),
        payload: { name: 'tmp' },
      })
    ).json().data
    const stranger = await loginAs(t.app, await createUser(t.app))
    const foreign = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${created.id}`,
      headers: bearer(stranger),
    })
    expect(foreign.statusCode).toBe(404)
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${created.id}`,
      headers: bearer(session),
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().data).toBeNull()
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { 'x-api-key': created.key },
    })
    expect(me.statusCode).toBe(401)
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${created.id}`,
      headers: bearer(session),
    })
    expect(again.statusCode).toBe(404)
  })

  it('refuses keys on the key routes (403), unauthenticated calls (401) and bad bodies (422)', async () => {
    const session = await loginAs(t.app, await createUser(t.app))
    const key = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/api-keys',
        headers: bearer(session),
        payload: { name: 'k' },
      })
    ).json().data.key
    for (const [method, url] of [
      ['GET', '/api/v1/api-keys'],
      ['POST', '/api/v1/api-keys'],
    ] as const) {
      const res = await t.app.inject({
        method,
        url,
        headers: { 'x-api-key': key },
        ...(method === 'POST' ? { payload: { name: 'x' } } : {}),
      })
      expect(res.statusCode).toBe(403)
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/api-keys' })).statusCode).toBe(401)
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: bearer(session),
      payload: { name: '' },
    })
    expect(bad.statusCode).toBe(422)
  })

  it('refuses an expired key', async () => {
    const session = await loginAs(t.app, await createUser(t.app))
    const created = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/api-keys',
        headers: bearer(session),
        payload: { name: 'old', expires_in_days: 1 },
      })
    ).json().data
    await t.app.infra.database.db
      .update(apiKeys)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(apiKeys.id, created.id))
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { 'x-api-key': created.key },
    })
    expect(me.statusCode).toBe(401)
  })
})
