import { describe, expect, it } from 'vitest'
import type { User } from '../../src/models/user.ts'
import type { PostsQueryInput } from '../../src/schemas/post.ts'
import { visibleFilters } from '../../src/services/post_list_service.ts'
import { assertEditable, canSee, cleanContent } from '../../src/services/post_policy.ts'

const AUTHOR = '0190a0a0-0000-7000-8000-00000000000a'
const OTHER = '0190a0a0-0000-7000-8000-00000000000b'
const user = (id: string, isSuperuser = false) => ({ id, isSuperuser }) as User
const query = (extra: Partial<PostsQueryInput> = {}): PostsQueryInput => ({
  page: 1,
  size: 20,
  sort: '-published_at',
  ...extra,
})

describe('canSee', () => {
  it('shows published posts to everyone', () => {
    for (const caller of [null, user(OTHER), user(AUTHOR)]) {
      expect(canSee({ status: 'published', authorId: AUTHOR }, caller)).toBe(true)
    }
  })

  it.each(['draft', 'archived'] as const)('shows a %s to its author and superusers only', (status) => {
    const post = { status, authorId: AUTHOR }
    expect(canSee(post, null)).toBe(false)
    expect(canSee(post, user(OTHER))).toBe(false)
    expect(canSee(post, user(AUTHOR))).toBe(true)
    expect(canSee(post, user(OTHER, true))).toBe(true)
  })
})

describe('visibleFilters', () => {
  it('lists published posts without a status, for anyone, keeping the filters', () => {
    const q = query({ author_id: AUTHOR, tag: 't', q: 'x' })
    const expected = { status: 'published', authorId: AUTHOR, tag: 't', q: 'x' }
    expect(visibleFilters(null, q)).toEqual(expected)
    expect(visibleFilters(user(OTHER), q)).toEqual(expected)
    expect(visibleFilters(null, query({ status: 'published' }))).toMatchObject({ status: 'published' })
  })

  it.each(['draft', 'archived'] as const)("lists %s posts of the caller's own only", (status) => {
    expect(visibleFilters(null, query({ status }))).toBeNull()
    expect(visibleFilters(user(OTHER), query({ status }))).toMatchObject({ status, authorId: OTHER })
    expect(visibleFilters(user(OTHER), query({ status, author_id: OTHER }))).toMatchObject({
      authorId: OTHER,
    })
    expect(visibleFilters(user(OTHER), query({ status, author_id: AUTHOR }))).toBeNull()
  })

  it("lists every author's drafts to a superuser", () => {
    expect(visibleFilters(user(OTHER, true), query({ status: 'draft' }))).toMatchObject({
      authorId: undefined,
    })
    expect(visibleFilters(user(OTHER, true), query({ status: 'draft', author_id: AUTHOR }))).toMatchObject({
      authorId: AUTHOR,
    })
  })
})

describe('assertEditable', () => {
  it('lets the author and superusers change any of their posts', () => {
    for (const status of ['draft', 'published', 'archived'] as const) {
      expect(() => assertEditable({ status, authorId: AUTHOR }, user(AUTHOR))).not.toThrow()
      expect(() => assertEditable({ status, authorId: AUTHOR }, user(OTHER, true))).not.toThrow()
    }
  })

  it('answers 403 for a published post of another author, 404 for their drafts and for no post', () => {
    const status = (fn: () => void) => {
      try {
        fn()
      } catch (error) {
        return (error as { statusCode: number }).statusCode
      }
      return 200
    }
    expect(status(() => assertEditable({ status: 'published', authorId: AUTHOR }, user(OTHER)))).toBe(403)
    expect(status(() => assertEditable({ status: 'draft', authorId: AUTHOR }, user(OTHER)))).toBe(404)
    expect(status(() => assertEditable({ status: 'archived', authorId: AUTHOR }, user(OTHER)))).toBe(404)
    expect(status(() => assertEditable(null, user(OTHER, true)))).toBe(404)
  })
})

describe('cleanContent', () => {
  it('returns sanitised content and refuses content that sanitises to nothing (422)', () => {
    expect(cleanContent('<p>a</p><script>x</script>')).toBe('<p>a</p>')
    expect(() => cleanContent('<script>x</script>  ')).toThrow(expect.objectContaining({ statusCode: 422 }))
  })
})
