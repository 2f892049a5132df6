import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { posts } from '../../src/models/post.ts'
import { createTestApp, type TestApp } from '../support/app.ts'
import { bearer, createUser, loginAs, promote, type Session } from '../support/auth.ts'
import { createPost, multipartBody, PNG } from '../support/posts.ts'

describe('PUT /api/v1/posts/:post_id/cover', () => {
  let t: TestApp
  let session: Session
  let otherSession: Session
  let adminSession: Session

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_ENABLED: 'false' })
    session = await loginAs(t.app, await createUser(t.app))
    otherSession = await loginAs(t.app, await createUser(t.app))
    const admin = await createUser(t.app)
    await promote(t.app, admin)
    adminSession = await loginAs(t.app, admin)
  })
  afterAll(() => t.close())

  const upload = (postId: string, content: Buffer, s?: Session) => {
    const body = multipartBody('file', content)
    return t.app.inject({
      method: 'PUT',
      url: `/api/v1/posts/${postId}/cover`,
      headers: { ...(s ? bearer(s) : {}), ...body.headers },
      payload: body.payload,
    })
  }
  const coverKeyOf = async (postId: string) =>
    (await t.app.infra.database.db.select().from(posts).where(eq(posts.id, postId)))[0]!.coverKey

  it('stores the image, answers a working cover_url and removes the previous cover', async () => {
    const post = await createPost(t.app, session, { status: 'published' })
    const res = await upload(post.id, PNG, session)
    expect(res.statusCode).toBe(200)
    const url = res.json().data.cover_url as string
    expect(url).toMatch(/^https?:\/\//)
    if (t.app.infra.storage.mode === 'embedded') {
      const download = await t.app.inject({ method: 'GET', url: url.replace(/^https?:\/\/[^/]+/, '') })
      expect(download.statusCode).toBe(200)
      expect(download.rawPayload.equals(PNG)).toBe(true)
    }
    const firstKey = await coverKeyOf(post.id)
    expect(await t.app.infra.storage.stat(firstKey!)).toMatchObject({ size: PNG.length })
    // A cached read shows the cover too, with a URL made at read time.
    expect(
      (await t.app.inject({ method: 'GET', url: `/api/v1/posts/${post.id}` })).json().data.cover_url,
    ).toMatch(/^https?:\/\//)

    const second = await upload(post.id, PNG, session)
    expect(second.statusCode).toBe(200)
    const secondKey = await coverKeyOf(post.id)
    expect(secondKey).not.toBe(firstKey)
    expect(await t.app.infra.storage.stat(firstKey!)).toBeNull()
  })

  it('refuses other bytes (415) and a file over 5 MiB (413), keeping no cover', async () => {
    const post = await createPost(t.app, session)
    expect((await upload(post.id, Buffer.from('plain text, not an image'), session)).statusCode).toBe(415)
    const big = Buffer.concat([PNG, Buffer.alloc(5 * 1024 * 1024 + 1)])
    expect((await upload(post.id, big, session)).statusCode).toBe(413)
    expect(await coverKeyOf(post.id)).toBeNull()
  })

  it('answers 401, 403 to a non-author of a published post, 404 for a draft, and lets a superuser', async () => {
    const published = await createPost(t.app, session, { status: 'published' })
    const draft = await createPost(t.app, session)
    expect((await upload(published.id, PNG)).statusCode).toBe(401)
    expect((await upload(published.id, PNG, otherSession)).statusCode).toBe(403)
    expect((await upload(draft.id, PNG, otherSession)).statusCode).toBe(404)
    expect((await upload('0190a0a0-0000-7000-8000-000000000000', PNG, session)).statusCode).toBe(404)
    expect((await upload('nope', PNG, session)).statusCode).toBe(422)
    expect(await coverKeyOf(published.id)).toBeNull()
    expect((await upload(draft.id, PNG, adminSession)).statusCode).toBe(200)
  })

  it('answers 415 for a JSON body', async () => {
    const post = await createPost(t.app, session)
    const res = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/posts/${post.id}/cover`,
      headers: bearer(session),
      payload: { file: 'x' },
    })
    expect(res.statusCode).toBe(415)
  })
})
