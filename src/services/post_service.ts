import type { Readable } from 'node:stream'
import type { Database } from '../core/database.ts'
import type { ObjectStorage } from '../core/storage.ts'
import { BusinessException, ResourceNotFoundException } from '../exceptions.ts'
import type { User } from '../models/user.ts'
import type { PostRepository, PostRow, PostWithAuthor } from '../repositories/post_repo.ts'
import type { UserRepository } from '../repositories/user_repo.ts'
import type {
  PostBody,
  PostCreateInput,
  PostListItemBody,
  PostsQueryInput,
  PostUpdateInput,
} from '../schemas/post.ts'
import { bodyFingerprint } from '../utils/fingerprint.ts'
import type { PageResult } from '../utils/helpers.ts'
import { slugOf, suffixedSlug } from '../utils/slug.ts'
import type { EventOutbox } from './events.ts'
import type { IdempotencyService } from './idempotency_service.ts'
import type { PostCache } from './post_cache.ts'
import { PostListService } from './post_list_service.ts'
import { assertEditable, canSee, cleanContent } from './post_policy.ts'
import { authorViewOf, type PostView, postViewOf, renderPost } from './post_view.ts'
import { storeImage } from './user_service.ts'

/** The route a creation's `Idempotency-Key` is scoped to. */
const CREATE_ROUTE = 'POST /posts'
/** Suffixed slugs tried once the title's own slug is taken (each with a fresh random suffix). */
const SLUG_ATTEMPTS = 5

/** Dependencies of {@link PostService}. */
export interface PostServiceDeps {
  db: Database
  posts: PostRepository
  users: UserRepository
  cache: PostCache
  storage: ObjectStorage
  events: EventOutbox
  idempotency: IdempotencyService
}

/**
 * Posts: creation with unique slugs and sanitised content, visibility, publication events, covers,
 * and the cache-aside reads of single posts; lists are told by {@link PostListService}.
 */
export class PostService {
  readonly #d: PostServiceDeps
  readonly #lists: PostListService

  /** @param deps repositories, cache, storage, outbox and idempotency */
  constructor(deps: PostServiceDeps) {
    this.#d = deps
    this.#lists = new PostListService(deps)
  }

  /**
   * A page of the posts the caller may see, without their content.
   * @param caller the authenticated caller, or null
   * @param query pagination, filters and sort
   */
  list(caller: User | null, query: PostsQueryInput): Promise<PageResult<PostListItemBody>> {
    return this.#lists.list(caller, query)
  }

  /**
   * Creates a post for the caller. With an idempotency key, a repeat of the same body returns the
   * first response and creates nothing; concurrent repeats wait for the first one.
   * @param idempotencyKey the request's `Idempotency-Key`, if any
   * @throws {ValidationException} 422 when the key was used with another body, or the content is empty
   */
  async create(caller: User, input: PostCreateInput, idempotencyKey?: string): Promise<PostBody> {
    if (idempotencyKey === undefined) return this.#create(caller, input)
    const scope = { userId: caller.id, route: CREATE_ROUTE, key: idempotencyKey }
    const response = await this.#d.idempotency.run(scope, bodyFingerprint(input), async () => ({
      status: 201,
      body: await this.#create(caller, input),
    }))
    return response.body as PostBody
  }

  /** @throws {ResourceNotFoundException} when absent, deleted, or a draft the caller may not see */
  async get(caller: User | null, postId: string): Promise<PostBody> {
    const view = await this.#d.cache.byId(postId, async () =>
      viewOf(await this.#d.posts.findWithAuthor(postId)),
    )
    return this.#visible(view, caller)
  }

  /** @throws {ResourceNotFoundException} when absent, deleted, or a draft the caller may not see */
  async getBySlug(caller: User | null, slug: string): Promise<PostBody> {
    const view = await this.#d.cache.bySlug(slug, async () =>
      viewOf(await this.#d.posts.findWithAuthorBySlug(slug)),
    )
    return this.#visible(view, caller)
  }

  /**
   * Changes a post. Publishing (the status becomes `published`) records `post.published`, and sets
   * `published_at` the first time only. The slug never changes, so links stay valid.
   * @throws {ResourceNotFoundException} when the caller cannot see the post
   * @throws {PermissionException} when the caller sees it but is neither its author nor a superuser
   */
  async update(caller: User, postId: string, input: PostUpdateInput): Promise<PostBody> {
    const content = input.content === undefined ? undefined : cleanContent(input.content)
    const { before, after } = await this.#d.db.transaction(async (tx) => {
      const before = await this.#editable(caller, postId, tx, true)
      const publishing = input.status === 'published' && before.status !== 'published'
      const after = await this.#d.posts.patch(
        postId,
        {
          ...(input.title !== undefined ? { title: input.title } : {}),
          ...(content !== undefined ? { content } : {}),
          ...(input.summary !== undefined ? { summary: input.summary } : {}),
          ...(input.tags !== undefined ? { tags: input.tags } : {}),
          ...(input.status !== undefined ? { status: input.status } : {}),
          ...(publishing && before.publishedAt === null ? { publishedAt: new Date() } : {}),
        },
        tx,
      )
      if (publishing) await this.#recordPublished(tx, after!)
      return { before, after: after! }
    })
    if (after.status === 'published' && before.status !== 'published') this.#d.events.wake()
    await this.#d.cache.forgetPost(postId, before.status === 'published' || after.status === 'published')
    return this.#render(after, caller)
  }

  /**
   * Soft-deletes a post and records `post.deleted`.
   * @throws {ResourceNotFoundException} when the caller cannot see the post
   * @throws {PermissionException} when the caller is neither its author nor a superuser
   */
  async delete(caller: User, postId: string): Promise<void> {
    const before = await this.#d.db.transaction(async (tx) => {
      const before = await this.#editable(caller, postId, tx, true)
      await this.#d.posts.softDelete(postId, tx)
      await this.#d.events.record(tx, 'post.deleted', { post_id: postId, author_id: before.authorId })
      return before
    })
    this.#d.events.wake()
    await this.#d.cache.forgetPost(postId, before.status === 'published')
  }

  /**
   * Replaces a post's cover image (png, jpeg, webp or gif; 415 otherwise, 413 above 5 MiB); the old
   * image is removed once the new one is in place.
   * @throws {ResourceNotFoundException} when the caller cannot see the post
   * @throws {PermissionException} when the caller is neither its author nor a superuser
   */
  async setCover(caller: User, postId: string, file: Readable): Promise<PostBody> {
    await this.#editable(caller, postId)
    const key = await storeImage(this.#d.storage, `covers/${postId}`, file)
    const swapped = await this.#d.db.transaction(async (tx) => {
      const before = await this.#d.posts.findById(postId, tx, true)
      const after = before && (await this.#d.posts.patch(postId, { coverKey: key }, tx))
      return before && after ? { before, after } : null
    })
    if (!swapped) {
      await this.#d.storage.delete(key)
      throw new ResourceNotFoundException('Post not found')
    }
    const { before, after } = swapped
    await this.#d.cache.forgetPost(postId, after.status === 'published')
    if (before.coverKey) await this.#d.storage.delete(before.coverKey)
    return this.#render(after, caller)
  }

  async #create(caller: User, input: PostCreateInput): Promise<PostBody> {
    const content = cleanContent(input.content)
    const status = input.status ?? 'draft'
    const base = slugOf(input.title)
    const published = status === 'published'
    // The insert skips a taken slug (no look-up first); each retry has a fresh random suffix.
    let slug = base
    for (let attempt = 0; attempt <= SLUG_ATTEMPTS; attempt++) {
      const post = await this.#d.posts.createUnique(
        {
          authorId: caller.id,
          title: input.title,
          slug,
          summary: input.summary ?? null,
          content,
          status,
          tags: input.tags ?? [],
          publishedAt: published ? new Date() : null,
        },
        published ? (tx, row) => this.#recordPublished(tx, row) : undefined,
      )
      if (post) {
        if (published) {
          this.#d.events.wake()
          await this.#d.cache.forgetPost(post.id, true)
        }
        return renderPost(this.#d.storage, postViewOf(post, authorViewOf(caller)))
      }
      // Another post took the slug, possibly a concurrent creation of the same title.
      slug = suffixedSlug(base)
    }
    throw BusinessException.conflict('No free slug was found for this title; try again')
  }

  /** The post, if the caller may change it (404 or 403 otherwise); `lock` holds it until `tx` ends. */
  async #editable(caller: User, postId: string, tx: Database = this.#d.db, lock = false): Promise<PostRow> {
    const post = await this.#d.posts.findById(postId, tx, lock)
    assertEditable(post, caller)
    return post
  }

  #recordPublished(tx: Database, post: PostRow): Promise<unknown> {
    return this.#d.events.record(tx, 'post.published', { post_id: post.id, author_id: post.authorId })
  }

  #visible(view: PostView | null, caller: User | null): Promise<PostBody> {
    if (!view || !canSee({ status: view.status, authorId: view.author.id }, caller)) {
      throw new ResourceNotFoundException('Post not found')
    }
    return renderPost(this.#d.storage, view)
  }

  async #render(row: PostRow, caller: User): Promise<PostBody> {
    const author = row.authorId === caller.id ? caller : await this.#d.users.getById(row.authorId)
    if (!author) throw new ResourceNotFoundException('Post not found')
    return renderPost(this.#d.storage, postViewOf(row, authorViewOf(author)))
  }
}

/** The view of a post read with its author; null when it is gone. */
function viewOf(found: PostWithAuthor | null): PostView | null {
  return found && postViewOf(found.post, found.author)
}
