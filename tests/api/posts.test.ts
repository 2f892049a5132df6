import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../support/app.ts'
import { type Account, bearer, createUser, loginAs, promote, type Session } from '../support/auth.ts'
import { unique } from '../support/factories.ts'
import { createPost, postEvents } from '../support/posts.ts'

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

describe('posts', () => {
  let t: TestApp
  let alice: Account
  let aliceSession: Session
  let bobSession: Session
  let adminSession: Session

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_ENABLED: 'false' })
    alice = await createUser(t.app, { full_name: 'Alice' })
    aliceSession = await loginAs(t.app, alice)
    bobSession = await loginAs(t.app, await createUser(t.app))
    const admin = await createUser(t.app)
    await promote(t.app, admin)
    adminSession = await loginAs(t.app, admin)
  })
  afterAll(() => t.close())

  const get = (url: string, session?: Session) =>
    t.app.inject({ method: 'GET', url, headers: session ? bearer(session) : {} })
  const patch = (id: string, payload: unknown, session?: Session) =>
    t.app.inject({
      method: 'PATCH',
      url: `/api/v1/posts/${id}`,
      headers: session ? bearer(session) : {},
      payload: payload as object,
    })

  describe('POST /api/v1/posts', () => {
    it('creates a draft with a slug from the title and the Post resource of API.md', async () => {
      const title = `Hello World ${unique()}`
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/posts',
        headers: bearer(aliceSession),
        payload: { title, content: '<p>Hi</p>', tags: ['news', 'Tech Talk'] },
      })
      expect(res.statusCode).toBe(201)
      const body = res.json()
      expect(body).toMatchObject({ code: 201, message: 'success' })
      expect(Object.keys(body.data).sort()).toEqual(
        [
          'author',
          'content',
          'cover_url',
          'created_at',
          'id',
          'published_at',
          'slug',
          'status',
          'summary',
          'tags',
          'title',
          'updated_at',
        ].sort(),
      )
      expect(body.data).toMatchObject({
        title,
        slug: title.toLowerCase().replaceAll(' ', '-'),
        summary: null,
        content: '<p>Hi</p>',
        status: 'draft',
        tags: ['news', 'Tech Talk'],
        cover_url: null,
        published_at: null,
        author: { id: alice.id, username: alice.username, full_name: 'Alice', avatar_url: null },
      })
      expect(body.data.created_at).toMatch(ISO_MS)
      expect(body.data.updated_at).toMatch(ISO_MS)
    })

    it('publishes at creation: published_at is set and post.published is recorded', async () => {
      const post = await createPost(t.app, aliceSession, { status: 'published', summary: 'S' })
      expect(post.published_at).toMatch(ISO_MS)
      const events = await postEvents(t.app, 'post.published', post.id)
      expect(events).toHaveLength(1)
      expect(events[0]!.payload).toEqual({ post_id: post.id, author_id: alice.id })
    })

    it('strips scripts, event handlers and javascript: links, and keeps safe markup', async () => {
      const content =
        '<h2>Title</h2><p onclick="steal()">Hello <strong>bold</strong> <em>it</em></p><script>alert(1)</script>' +
        '<img src="https://example.com/a.png" alt="a" onerror="alert(2)">' +
        '<a href="javascript:alert(3)">bad</a> <a href="https://example.com" title="t">good</a>' +
        '<iframe src="https://evil.example"></iframe><p style="color:red">styled</p><style>p{}</style>'
      const post = await createPost(t.app, aliceSession, { content })
      expect(post.content).toBe(
        '<h2>Title</h2><p>Hello <strong>bold</strong> <em>it</em></p>' +
          '<img src="https://example.com/a.png" alt="a" />' +
          '<a>bad</a> <a href="https://example.com" title="t">good</a><p>styled</p>',
      )
      for (const bad of ['<script', 'onerror', 'onclick', 'javascript:', '<iframe', '<style', 'style=']) {
        expect(post.content).not.toContain(bad)
      }
    })

    it('stores plain text fields as sent', async () => {
      const post = await createPost(t.app, aliceSession, {
        title: `<b>Not HTML</b> ${unique()}`,
        summary: '<i>kept</i> & as is',
        tags: ['<tag>'],
      })
      expect(post.title).toMatch(/^<b>Not HTML<\/b> /)
      expect(post.summary).toBe('<i>kept</i> & as is')
      expect(post.tags).toEqual(['<tag>'])
    })

    it('gives a colliding title a suffixed slug, also for concurrent creations', async () => {
      const title = `Same Title ${unique()}`
      const base = title.toLowerCase().replaceAll(' ', '-')
      const first = await createPost(t.app, aliceSession, { title })
      expect(first.slug).toBe(base)
      const results = await Promise.all(
        Array.from({ length: 6 }, () => createPost(t.app, bobSession, { title })),
      )
      const slugs = results.map((p) => p.slug)
      expect(new Set([first.slug, ...slugs]).size).toBe(7)
      for (const slug of slugs) expect(slug).toMatch(new RegExp(`^${base}-[a-z0-9]{6}$`))
    })

    it('transliterates other scripts and falls back to "post"', async () => {
      const word = unique()
      expect((await createPost(t.app, aliceSession, { title: `Привет мир ${word}` })).slug).toBe(
        `privet-mir-${word}`,
      )
      expect((await createPost(t.app, aliceSession, { title: '🙂🙂' })).slug).toMatch(/^post(-[a-z0-9]{6})?$/)
    })

    it.each([
      [{ content: 'x' }, 'title'],
      [{ title: '', content: 'x' }, 'title'],
      [{ title: 'x'.repeat(201), content: 'x' }, 'title'],
      [{ title: 't' }, 'content'],
      [{ title: 't', content: 'x', summary: 's'.repeat(501) }, 'summary'],
      [{ title: 't', content: 'x', tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }, 'tags'],
      [{ title: 't', content: 'x', tags: ['x'.repeat(31)] }, 'tags'],
      [{ title: 't', content: 'x', status: 'deleted' }, 'status'],
      [{ title: 't', content: 'x', author_id: '0190a0a0-0000-7000-8000-000000000000' }, 'author_id'],
    ])('answers 422 for %j', async (payload, field) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/posts',
        headers: bearer(aliceSession),
        payload,
      })
      expect(res.statusCode).toBe(422)
      expect(res.json().detail.some((d: { loc: string[] }) => d.loc[1] === field)).toBe(true)
    })

    it('answers 422 when nothing is left of the content after sanitising', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/posts',
        headers: bearer(aliceSession),
        payload: { title: 't', content: '<script>alert(1)</script>' },
      })
      expect(res.statusCode).toBe(422)
      expect(res.json().detail[0].loc).toEqual(['body', 'content'])
    })

    it('answers 401 without credentials and 415 for a non-JSON body', async () => {
      const anonymous = await t.app.inject({
        method: 'POST',
        url: '/api/v1/posts',
        payload: { title: 't', content: 'c' },
      })
      expect(anonymous.statusCode).toBe(401)
      const text = await t.app.inject({
        method: 'POST',
        url: '/api/v1/posts',
        headers: { ...bearer(aliceSession), 'content-type': 'text/plain' },
        payload: 'title=t',
      })
      expect(text.statusCode).toBe(415)
    })
  })

  describe('GET /api/v1/posts/:post_id and /api/v1/posts/slug/:slug', () => {
    it('shows a published post to anyone, with its content', async () => {
      const post = await createPost(t.app, aliceSession, { status: 'published' })
      for (const url of [`/api/v1/posts/${post.id}`, `/api/v1/posts/slug/${post.slug}`]) {
        const res = await get(url)
        expect(res.statusCode).toBe(200)
        expect(res.json().data).toEqual(post)
      }
    })

    it.each(['draft', 'archived'])(
      'hides a %s from others (404) but not from its author or a superuser',
      async (status) => {
        const post = await createPost(t.app, aliceSession, { status })
        for (const url of [`/api/v1/posts/${post.id}`, `/api/v1/posts/slug/${post.slug}`]) {
          for (const session of [undefined, bobSession]) {
            const res = await get(url, session)
            expect(res.statusCode).toBe(404)
            expect(res.json()).toEqual({ code: 404, message: 'Post not found', detail: null })
          }
          expect((await get(url, aliceSession)).json().data.id).toBe(post.id)
          expect((await get(url, adminSession)).json().data.id).toBe(post.id)
        }
      },
    )

    it('answers 404 for an unknown id or slug and 422 for a malformed id', async () => {
      expect((await get('/api/v1/posts/0190a0a0-0000-7000-8000-000000000000')).statusCode).toBe(404)
      expect((await get(`/api/v1/posts/slug/nothing-${unique()}`)).statusCode).toBe(404)
      expect((await get('/api/v1/posts/not-a-uuid')).statusCode).toBe(422)
    })

    it('answers 401 for a bad token even on these optional-auth routes', async () => {
      const post = await createPost(t.app, aliceSession, { status: 'published' })
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/v1/posts/${post.id}`,
        headers: { authorization: 'Bearer nope' },
      })
      expect(res.statusCode).toBe(401)
    })
  })

  describe('PATCH /api/v1/posts/:post_id', () => {
    it('updates the fields, sanitises content and keeps the slug', async () => {
      const post = await createPost(t.app, aliceSession)
      const res = await patch(
        post.id,
        { title: 'Renamed', content: '<p>new</p><script>x</script>', summary: null, tags: ['a'] },
        aliceSession,
      )
      expect(res.statusCode).toBe(200)
      expect(res.json().data).toMatchObject({
        title: 'Renamed',
        content: '<p>new</p>',
        summary: null,
        tags: ['a'],
        slug: post.slug,
      })
      expect(Date.parse(res.json().data.updated_at)).toBeGreaterThanOrEqual(
        Date.parse(post.updated_at as string),
      )
    })

    it('sets published_at once and records post.published on each publication', async () => {
      const post = await createPost(t.app, aliceSession)
      const published = (await patch(post.id, { status: 'published' }, aliceSession)).json().data
      expect(published.published_at).toMatch(ISO_MS)
      const archived = (await patch(post.id, { status: 'archived' }, aliceSession)).json().data
      expect(archived).toMatchObject({ status: 'archived', published_at: published.published_at })
      const again = (await patch(post.id, { status: 'published' }, aliceSession)).json().data
      expect(again).toMatchObject({ status: 'published', published_at: published.published_at })
      expect(await postEvents(t.app, 'post.published', post.id)).toHaveLength(2)
      // Saving a published post again is no publication.
      await patch(post.id, { status: 'published', title: 'x' }, aliceSession)
      expect(await postEvents(t.app, 'post.published', post.id)).toHaveLength(2)
    })

    it('answers 403 to a non-author on a published post, 404 on a draft, and lets a superuser edit', async () => {
      const published = await createPost(t.app, aliceSession, { status: 'published' })
      const draft = await createPost(t.app, aliceSession)
      const forbidden = await patch(published.id, { title: 'mine' }, bobSession)
      expect(forbidden.statusCode).toBe(403)
      expect(forbidden.json().code).toBe(403)
      expect((await patch(draft.id, { title: 'mine' }, bobSession)).statusCode).toBe(404)
      const admin = await patch(draft.id, { title: 'by admin' }, adminSession)
      expect(admin.statusCode).toBe(200)
      expect(admin.json().data).toMatchObject({ title: 'by admin', author: { id: alice.id } })
      expect((await get(`/api/v1/posts/${published.id}`)).json().data.title).toBe(published.title)
    })

    it('answers 401, 404 and 422 as it should', async () => {
      const post = await createPost(t.app, aliceSession)
      expect((await patch(post.id, { title: 'x' })).statusCode).toBe(401)
      expect(
        (await patch('0190a0a0-0000-7000-8000-000000000000', { title: 'x' }, aliceSession)).statusCode,
      ).toBe(404)
      expect((await patch(post.id, { slug: 'mine' }, aliceSession)).statusCode).toBe(422)
      expect((await patch(post.id, { status: 'gone' }, aliceSession)).statusCode).toBe(422)
    })
  })

  describe('DELETE /api/v1/posts/:post_id', () => {
    it('soft-deletes the post, records post.deleted and answers 404 afterwards', async () => {
      const post = await createPost(t.app, aliceSession, { status: 'published' })
      const del = (session?: Session) =>
        t.app.inject({
          method: 'DELETE',
          url: `/api/v1/posts/${post.id}`,
          headers: session ? bearer(session) : {},
        })
      expect((await del()).statusCode).toBe(401)
      expect((await del(bobSession)).statusCode).toBe(403)
      const res = await del(aliceSession)
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ code: 200, message: 'success', data: null })
      expect((await get(`/api/v1/posts/${post.id}`)).statusCode).toBe(404)
      expect((await get(`/api/v1/posts/slug/${post.slug}`)).statusCode).toBe(404)
      expect((await del(aliceSession)).statusCode).toBe(404)
      const events = await postEvents(t.app, 'post.deleted', post.id)
      expect(events.map((e) => e.payload)).toEqual([{ post_id: post.id, author_id: alice.id }])
    })

    it("lets a superuser delete another author's draft, and hides it from non-authors (404)", async () => {
      const post = await createPost(t.app, aliceSession)
      const url = `/api/v1/posts/${post.id}`
      expect((await t.app.inject({ method: 'DELETE', url, headers: bearer(bobSession) })).statusCode).toBe(
        404,
      )
      expect((await t.app.inject({ method: 'DELETE', url, headers: bearer(adminSession) })).statusCode).toBe(
        200,
      )
    })
  })
})
