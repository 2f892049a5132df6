import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../support/app.ts'
import { type Account, bearer, createUser, loginAs, promote, type Session } from '../support/auth.ts'
import { unique } from '../support/factories.ts'
import { createPost, type PostJson } from '../support/posts.ts'

describe('GET /api/v1/posts', () => {
  let t: TestApp
  let author: Account
  let authorSession: Session
  let otherSession: Session
  let adminSession: Session
  /** The author's five published posts, oldest first, all tagged `tag`. */
  let published: PostJson[]
  let draft: PostJson
  let archived: PostJson
  const tag = `tag-${unique()}`

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_ENABLED: 'false' })
    author = await createUser(t.app)
    authorSession = await loginAs(t.app, author)
    otherSession = await loginAs(t.app, await createUser(t.app))
    const admin = await createUser(t.app)
    await promote(t.app, admin)
    adminSession = await loginAs(t.app, admin)
    published = []
    for (let i = 0; i < 5; i++) {
      published.push(await createPost(t.app, authorSession, { status: 'published', tags: [tag, `n${i}`] }))
    }
    draft = await createPost(t.app, authorSession, { tags: [tag] })
    archived = await createPost(t.app, authorSession, { status: 'archived', tags: [tag] })
  })
  afterAll(() => t.close())

  const list = async (query: string, session?: Session) => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/posts?${query}`,
      headers: session ? bearer(session) : {},
    })
    return res
  }
  const ids = (res: { json(): { data: { items: { id: string }[] } } }) =>
    res.json().data.items.map((p) => p.id)

  it.each([
    [1, { total: 5, page: 1, size: 2, pages: 3, has_next: true, has_prev: false }, [4, 3]],
    [2, { total: 5, page: 2, size: 2, pages: 3, has_next: true, has_prev: true }, [2, 1]],
    [3, { total: 5, page: 3, size: 2, pages: 3, has_next: false, has_prev: true }, [0]],
    [4, { total: 5, page: 4, size: 2, pages: 3, has_next: false, has_prev: true }, []],
  ])('paginates: page %i', async (page, meta, expected) => {
    const res = await list(`author_id=${author.id}&size=2&page=${page}`)
    expect(res.statusCode).toBe(200)
    expect(res.json().data.meta).toEqual(meta)
    expect(ids(res)).toEqual(expected.map((i) => published[i]!.id))
  })

  it('lists items without content, with their author', async () => {
    const res = await list(`author_id=${author.id}&size=1`)
    const [item] = res.json().data.items
    expect(item).not.toHaveProperty('content')
    expect(item).toMatchObject({ author: { id: author.id, username: author.username }, status: 'published' })
  })

  it('answers an empty page with zero pages for no match', async () => {
    const res = await list(`tag=none-${unique()}`)
    expect(res.json().data).toEqual({
      items: [],
      meta: { total: 0, page: 1, size: 20, pages: 0, has_next: false, has_prev: false },
    })
  })

  it('filters by tag and author', async () => {
    const other = await createPost(t.app, otherSession, { status: 'published', tags: [tag] })
    expect(ids(await list(`tag=${tag}&size=100`)).sort()).toEqual(
      [...published.map((p) => p.id), other.id].sort(),
    )
    expect(ids(await list(`tag=n3`))).toContain(published[3]!.id)
    expect(ids(await list(`tag=n3&author_id=${author.id}`))).toEqual([published[3]!.id])
  })

  it('searches title, summary and content, and misses what is not there', async () => {
    const word = `zebra${unique()}`
    const inTitle = await createPost(t.app, otherSession, { status: 'published', title: `About ${word}` })
    const inSummary = await createPost(t.app, otherSession, { status: 'published', summary: `${word} here` })
    const inContent = await createPost(t.app, otherSession, {
      status: 'published',
      content: `<p>x ${word}</p>`,
    })
    await createPost(t.app, otherSession, { title: `Draft ${word}` })
    const hits = await list(`q=${word}&sort=created_at`)
    expect(ids(hits)).toEqual([inTitle.id, inSummary.id, inContent.id])
    expect(ids(await list(`q=${word.toUpperCase()} -about&sort=created_at`))).toEqual([
      inSummary.id,
      inContent.id,
    ])
    expect(ids(await list(`q=${encodeURIComponent(`"about ${word}"`)}`))).toEqual([inTitle.id])
    expect((await list(`q=nothing${unique()}`)).json().data.meta.total).toBe(0)
  })

  it('sorts by each allowed key', async () => {
    const sortTag = `sort-${unique()}`
    const [b, c, a] = [
      await createPost(t.app, otherSession, { title: 'Bravo', tags: [sortTag] }),
      await createPost(t.app, otherSession, { title: 'Charlie', tags: [sortTag] }),
      await createPost(t.app, otherSession, { title: 'Alpha', tags: [sortTag] }),
    ]
    // Published in another order than created: c, then a, then b.
    for (const post of [c!, a!, b!]) {
      await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/posts/${post.id}`,
        headers: bearer(otherSession),
        payload: { status: 'published' },
      })
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const order = async (sort?: string) => ids(await list(`tag=${sortTag}${sort ? `&sort=${sort}` : ''}`))
    expect(await order()).toEqual([b!.id, a!.id, c!.id])
    expect(await order('-published_at')).toEqual([b!.id, a!.id, c!.id])
    expect(await order('published_at')).toEqual([c!.id, a!.id, b!.id])
    expect(await order('created_at')).toEqual([b!.id, c!.id, a!.id])
    expect(await order('-created_at')).toEqual([a!.id, c!.id, b!.id])
    expect(await order('title')).toEqual([a!.id, b!.id, c!.id])
    expect(await order('-title')).toEqual([c!.id, b!.id, a!.id])
  })

  it.each(['sort=updated_at', 'sort=-id', 'status=deleted', 'size=101', 'size=0', 'page=0', 'author_id=x'])(
    'answers 422 for %s',
    async (query) => {
      const res = await list(query)
      expect(res.statusCode).toBe(422)
      expect(res.json().code).toBe(422)
    },
  )

  describe('visibility', () => {
    it('lists published posts only without a status, whoever asks', async () => {
      for (const session of [undefined, authorSession, adminSession]) {
        const found = ids(await list(`tag=${tag}&author_id=${author.id}&size=100`, session))
        expect(found).toHaveLength(5)
        expect(found).not.toContain(draft.id)
        expect(found).not.toContain(archived.id)
      }
    })

    it("lists the caller's own drafts and archived posts", async () => {
      expect(ids(await list(`status=draft&tag=${tag}`, authorSession))).toEqual([draft.id])
      expect(ids(await list(`status=archived&tag=${tag}`, authorSession))).toEqual([archived.id])
      expect(
        ids(await list(`status=published&tag=${tag}&author_id=${author.id}`, authorSession)),
      ).toHaveLength(5)
    })

    it("never lists another user's drafts, and none to an anonymous caller", async () => {
      expect(ids(await list(`status=draft&tag=${tag}`, otherSession))).toEqual([])
      expect(ids(await list(`status=draft&author_id=${author.id}`, otherSession))).toEqual([])
      const anonymous = await list(`status=draft&author_id=${author.id}`)
      expect(anonymous.statusCode).toBe(200)
      expect(anonymous.json().data.meta.total).toBe(0)
    })

    it("lists every author's drafts to a superuser", async () => {
      const mine = await createPost(t.app, otherSession, { tags: [tag] })
      expect(ids(await list(`status=draft&tag=${tag}`, adminSession)).sort()).toEqual(
        [draft.id, mine.id].sort(),
      )
      expect(ids(await list(`status=draft&tag=${tag}&author_id=${author.id}`, adminSession))).toEqual([
        draft.id,
      ])
    })
  })
})
