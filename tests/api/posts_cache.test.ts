import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { posts } from '../../src/models/post.ts'
import { users } from '../../src/models/user.ts'
import { capturingLogger, createTestApp, type TestApp } from '../support/app.ts'
import { bearer, createUser, loginAs, type Session } from '../support/auth.ts'
import { unique, userValues } from '../support/factories.ts'
import { createPost } from '../support/posts.ts'

describe('posts: caching and idempotency', () => {
  let t: TestApp
  let session: Session
  let otherSession: Session

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_ENABLED: 'false' })
    session = await loginAs(t.app, await createUser(t.app))
    otherSession = await loginAs(t.app, await createUser(t.app))
  })
  afterAll(() => t.close())

  const get = (url: string, s?: Session) => t.app.inject({ method: 'GET', url, headers: s ? bearer(s) : {} })
  const patch = (id: string, payload: object, s: Session = session) =>
    t.app.inject({ method: 'PATCH', url: `/api/v1/posts/${id}`, headers: bearer(s), payload })
  const create = (payload: object, key: string, s: Session = session) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/posts',
      headers: { ...bearer(s), 'idempotency-key': key },
      payload,
    })

  /** Reads a post twice (a post is cached from its second read), and checks the cache now holds it. */
  const readIntoCache = async (post: { id: string; title: string }) => {
    for (let read = 0; read < 2; read++) {
      expect((await get(`/api/v1/posts/${post.id}`)).json().data.title).toBe(post.title)
    }
    expect(await t.app.infra.cache.getJson(`post:id:${post.id}`)).toMatchObject({ title: post.title })
  }

  describe('GET /api/v1/posts/:post_id', () => {
    it('reads a post from the database the first time and caches it from the second', async () => {
      const post = await createPost(t.app, session, { status: 'published' })
      const url = `/api/v1/posts/${post.id}`
      expect((await get(url)).statusCode).toBe(200)
      expect(await t.app.infra.cache.getJson(`post:id:${post.id}`)).toBeNull()
      await readIntoCache(post)
      expect((await get(`/api/v1/posts/slug/${post.slug}`)).json().data.id).toBe(post.id)
      expect(await t.app.infra.cache.getJson(`post:slug:${post.slug}`)).toMatchObject({ id: post.id })
    })
  })

  describe('GET /api/v1/posts/:post_id after a change', () => {
    it('never serves an updated post stale, by id or by slug', async () => {
      const post = await createPost(t.app, session, { status: 'published' })
      const byId = `/api/v1/posts/${post.id}`
      const bySlug = `/api/v1/posts/slug/${post.slug}`
      await readIntoCache(post)
      expect((await get(bySlug)).json().data.title).toBe(post.title)
      expect((await patch(post.id, { title: 'Changed', content: '<p>new</p>' })).statusCode).toBe(200)
      for (const url of [byId, bySlug]) {
        expect((await get(url)).json().data).toMatchObject({ title: 'Changed', content: '<p>new</p>' })
      }
    })

    it('stops serving a post that was unpublished or deleted', async () => {
      const post = await createPost(t.app, session, { status: 'published' })
      const byId = `/api/v1/posts/${post.id}`
      await readIntoCache(post)
      await patch(post.id, { status: 'draft' })
      expect((await get(byId)).statusCode).toBe(404)
      expect((await get(`/api/v1/posts/slug/${post.slug}`)).statusCode).toBe(404)
      await patch(post.id, { status: 'published' })
      await readIntoCache(post)
      await t.app.inject({ method: 'DELETE', url: byId, headers: bearer(session) })
      expect((await get(byId)).statusCode).toBe(404)
    })

    it("shows the author's new username and name once they change", async () => {
      const account = await createUser(t.app)
      const own = await loginAs(t.app, account)
      const post = await createPost(t.app, own, { status: 'published' })
      await readIntoCache(post)
      expect((await get(`/api/v1/posts/${post.id}`)).json().data.author.username).toBe(account.username)
      const username = `renamed_${unique()}`
      await t.app.inject({
        method: 'PATCH',
        url: '/api/v1/users/me',
        headers: bearer(own),
        payload: { username, full_name: 'New Name' },
      })
      const after = (await get(`/api/v1/posts/${post.id}`)).json().data.author
      expect(after).toMatchObject({ username, full_name: 'New Name' })
      const listed = (await get(`/api/v1/posts?author_id=${account.id}`)).json().data.items[0].author
      expect(listed.username).toBe(username)
    })

    it('hides the posts of a deleted account', async () => {
      const account = await createUser(t.app)
      const own = await loginAs(t.app, account)
      const post = await createPost(t.app, own, { status: 'published' })
      await readIntoCache(post)
      await t.app.inject({ method: 'DELETE', url: '/api/v1/users/me', headers: bearer(own) })
      expect((await get(`/api/v1/posts/${post.id}`)).statusCode).toBe(404)
      expect((await get(`/api/v1/posts?author_id=${account.id}`)).json().data.meta.total).toBe(0)
    })
  })

  describe('GET /api/v1/posts (cached first pages)', () => {
    it('shows new, changed and deleted posts at once', async () => {
      const first = await get('/api/v1/posts')
      expect(first.statusCode).toBe(200)
      const post = await createPost(t.app, session, { status: 'published' })
      expect((await get('/api/v1/posts')).json().data.items[0].id).toBe(post.id)
      await patch(post.id, { title: 'List title changed' })
      expect((await get('/api/v1/posts')).json().data.items[0].title).toBe('List title changed')
      await t.app.inject({ method: 'DELETE', url: `/api/v1/posts/${post.id}`, headers: bearer(session) })
      const ids = (await get('/api/v1/posts?size=100')).json().data.items.map((p: { id: string }) => p.id)
      expect(ids).not.toContain(post.id)
    })
  })

  describe('POST /api/v1/posts with Idempotency-Key', () => {
    it('creates one post for ten concurrent repeats and answers them all alike', async () => {
      const key = `key-${unique()}`
      const payload = { title: `Idempotent ${unique()}`, content: '<p>once</p>', status: 'published' }
      const responses = await Promise.all(Array.from({ length: 10 }, () => create(payload, key)))
      for (const res of responses) {
        expect(res.statusCode).toBe(201)
        expect(res.body).toBe(responses[0]!.body)
      }
      const rows = await t.app.infra.database.db.select().from(posts).where(eq(posts.title, payload.title))
      expect(rows).toHaveLength(1)
      // The same body with its keys in another order is the same request.
      const reordered = await create(
        { status: 'published', content: '<p>once</p>', title: payload.title },
        key,
      )
      expect(reordered.body).toBe(responses[0]!.body)
    })

    it('answers 422 for the same key with another body, and keeps keys apart per user', async () => {
      const key = `key-${unique()}`
      const first = await create({ title: `A ${unique()}`, content: 'a' }, key)
      expect(first.statusCode).toBe(201)
      const other = await create({ title: 'B', content: 'b' }, key)
      expect(other.statusCode).toBe(422)
      expect(other.json().code).toBe(422)
      const otherUser = await create({ title: 'B', content: 'b' }, key, otherSession)
      expect(otherUser.statusCode).toBe(201)
      expect(otherUser.json().data.id).not.toBe(first.json().data.id)
    })

    it('answers 422 for a key longer than 255 characters', async () => {
      const res = await create({ title: 't', content: 'c' }, 'k'.repeat(256))
      expect(res.statusCode).toBe(422)
      expect(res.json().detail[0].loc).toEqual(['header', 'idempotency-key'])
      expect((await create({ title: 't', content: 'c' }, 'k'.repeat(255))).statusCode).toBe(201)
    })
  })
})

describe('posts with the cache down', () => {
  let t: TestApp
  const { logger, lines } = capturingLogger()

  beforeAll(async () => {
    t = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_ENABLED: 'false' }, logger)
  })
  afterAll(() => t.close())

  it('serves GET /api/v1/posts/:post_id, by slug and the list from the database', async () => {
    const db = t.app.infra.database.db
    const [author] = await db.insert(users).values(userValues()).returning()
    const slug = `cache-down-${unique()}`
    const [post] = await db
      .insert(posts)
      .values({
        authorId: author!.id,
        title: 'Cache down',
        slug,
        content: '<p>db</p>',
        status: 'published',
        publishedAt: new Date(),
      })
      .returning()
    for (const url of [`/api/v1/posts/${post!.id}`, `/api/v1/posts/slug/${slug}`]) {
      const res = await t.app.inject({ method: 'GET', url })
      expect(res.statusCode).toBe(200)
      expect(res.json().data).toMatchObject({ id: post!.id, title: 'Cache down', author: { id: author!.id } })
    }
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/posts' })
    expect(list.statusCode).toBe(200)
    expect(list.json().data.items.map((p: { id: string }) => p.id)).toContain(post!.id)
    expect(lines.some((l) => l.msg === 'post cache unavailable: using the database' && l.level === 40)).toBe(
      true,
    )
  })
})
