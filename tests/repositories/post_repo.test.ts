import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseHandle } from '../../src/core/database.ts'
import { PostRepository } from '../../src/repositories/post_repo.ts'
import { UserRepository } from '../../src/repositories/user_repo.ts'
import { testDatabase } from '../support/database.ts'
import { unique, userValues } from '../support/factories.ts'

describe('PostRepository', () => {
  let database: DatabaseHandle
  let posts: PostRepository
  let users: UserRepository

  beforeAll(async () => {
    database = await testDatabase()
    posts = new PostRepository(database.db)
    users = new UserRepository(database.db)
  })
  afterAll(() => database.close())

  const newPost = async (authorId: string) => {
    const slug = `post-${unique()}`
    const made = await posts.createUnique({
      authorId,
      title: 'A post',
      slug,
      content: '<p>text</p>',
      status: 'published',
      tags: ['a'],
      publishedAt: new Date(),
    })
    return made!
  }

  describe('findWithAuthor and findWithAuthorBySlug', () => {
    it('read a live post with its author in one query, by id and by slug', async () => {
      const author = await users.create(userValues({ fullName: 'Ann Author' }))
      const post = await newPost(author.id)
      const expected = {
        post,
        author: { id: author.id, username: author.username, fullName: 'Ann Author', avatarKey: null },
      }
      expect(await posts.findWithAuthor(post.id)).toEqual(expected)
      expect(await posts.findWithAuthorBySlug(post.slug)).toEqual(expected)
    })

    it('find nothing for an unknown or deleted post', async () => {
      const author = await users.create(userValues())
      const post = await newPost(author.id)
      await posts.softDelete(post.id)
      expect(await posts.findWithAuthor(post.id)).toBeNull()
      expect(await posts.findWithAuthorBySlug(post.slug)).toBeNull()
      expect(await posts.findWithAuthor('0190a0a0-0000-7000-8000-000000000000')).toBeNull()
      expect(await posts.findWithAuthorBySlug(`nothing-${unique()}`)).toBeNull()
    })

    it('find nothing once the author is deleted', async () => {
      const author = await users.create(userValues())
      const post = await newPost(author.id)
      await users.softDelete(author.id)
      expect(await posts.findWithAuthor(post.id)).toBeNull()
      expect(await posts.findWithAuthorBySlug(post.slug)).toBeNull()
    })
  })

  describe('createUnique', () => {
    const values = (authorId: string, slug: string) => ({
      authorId,
      title: 'Same slug',
      slug,
      content: '<p>text</p>',
    })

    it('answers null for a slug any row holds, a deleted post included, and inserts nothing', async () => {
      const author = await users.create(userValues())
      const first = await newPost(author.id)
      expect(await posts.createUnique(values(author.id, first.slug))).toBeNull()
      await posts.softDelete(first.id)
      expect(await posts.createUnique(values(author.id, first.slug))).toBeNull()
      const stored = await posts.search(
        { page: 1, size: 10 },
        { status: 'draft', authorId: author.id },
        '-created_at',
      )
      expect(stored.total).toBe(0)
    })

    it('stores a draft with the defaults', async () => {
      const author = await users.create(userValues())
      const slug = `draft-${unique()}`
      const post = await posts.createUnique(values(author.id, slug))
      expect(post).toMatchObject({ slug, status: 'draft', summary: null, tags: [], coverKey: null })
      expect(post?.publishedAt).toBeNull()
      expect((await posts.findWithAuthor(post!.id))?.post).toEqual(post)
    })

    it('runs `after` in the transaction of the insert, and not when the slug is taken', async () => {
      const author = await users.create(userValues())
      const slug = `after-${unique()}`
      const seen: string[] = []
      const after = async (_tx: unknown, post: { id: string }) => {
        seen.push(post.id)
      }
      const post = await posts.createUnique(values(author.id, slug), after)
      expect(seen).toEqual([post!.id])
      expect(await posts.createUnique(values(author.id, slug), after)).toBeNull()
      expect(seen).toHaveLength(1)
      const failing = async () => {
        throw new Error('after failed')
      }
      const other = `rolled-back-${unique()}`
      await expect(posts.createUnique(values(author.id, other), failing)).rejects.toThrow('after failed')
      expect(await posts.findWithAuthorBySlug(other)).toBeNull()
    })
  })
})
