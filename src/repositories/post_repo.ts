import { and, arrayContains, eq, getTableColumns, isNull, type SQL, sql } from 'drizzle-orm'
import type { Database } from '../core/database.ts'
import { type NewPost, type PostStatus, posts } from '../models/post.ts'
import { users } from '../models/user.ts'
import type { Pagination } from '../schemas/base.ts'
import { BaseRepository, type ListResult } from './base.ts'
import { uniqueViolationOf } from './errors.ts'

const { searchVector: _searchVector, ...ROW_COLUMNS } = getTableColumns(posts)
const { content: _content, ...LIST_COLUMNS } = ROW_COLUMNS
const AUTHOR_COLUMNS = {
  id: users.id,
  username: users.username,
  fullName: users.fullName,
  avatarKey: users.avatarKey,
}

/** A post as the services use it: every column but the generated search vector. */
export type PostRow = Omit<typeof posts.$inferSelect, 'searchVector'>
/** A post in a list: without its (possibly large) content. */
export type PostListRow = Omit<PostRow, 'content'>

/** The public fields of a post's author, as {@link PostRepository.findWithAuthor} reads them. */
export interface PostAuthorRow {
  id: string
  username: string
  fullName: string | null
  avatarKey: string | null
}

/** A live post and its live author, read together. */
export interface PostWithAuthor {
  post: PostRow
  author: PostAuthorRow
}

/** Filters of the post list; each one narrows it. */
export interface PostFilters {
  status: PostStatus
  authorId?: string
  /** Posts carrying this tag (array containment, served by the GIN index). */
  tag?: string
  /** A web-search style query (`"exact phrase"`, `or`, `-not`) over title, summary and content. */
  q?: string
}

/**
 * Data access for `posts`. A post is live while neither it nor its author is soft-deleted: the
 * account's deletion hides its posts everywhere, and this is the one place that says so.
 */
export class PostRepository extends BaseRepository<typeof posts> {
  /** One joined read of a post and its author, prepared once per connection (by id, then by slug). */
  readonly #withAuthor: {
    byId: { execute(values: { key: string }): Promise<PostWithAuthor[]> }
    bySlug: { execute(values: { key: string }): Promise<PostWithAuthor[]> }
  }

  /** @param db the database */
  constructor(db: Database) {
    super(db, posts, { published_at: posts.publishedAt, title: posts.title }, '-published_at')
    // The inner join on a live author is what `live()` says with EXISTS, and it reads the author too.
    const withAuthor = (key: SQL) =>
      db
        .select({ post: ROW_COLUMNS, author: AUTHOR_COLUMNS })
        .from(posts)
        .innerJoin(users, and(eq(users.id, posts.authorId), isNull(users.deletedAt)))
        .where(and(isNull(posts.deletedAt), key))
        .limit(1)
    this.#withAuthor = {
      byId: withAuthor(eq(posts.id, sql.placeholder('key'))).prepare('posts_with_author_by_id'),
      bySlug: withAuthor(eq(posts.slug, sql.placeholder('key'))).prepare('posts_with_author_by_slug'),
    }
  }

  protected override live(...conditions: (SQL | undefined)[]): SQL | undefined {
    const authorLive = sql`exists (select 1 from ${users} where ${users.id} = ${posts.authorId} and ${users.deletedAt} is null)`
    return super.live(authorLive, ...conditions)
  }

  /**
   * @param id the post id
   * @param tx an optional transaction
   * @param lock take a row lock until the transaction ends (to read-modify-write the status)
   * @returns the live post, or null
   */
  async findById(id: string, tx: Database = this.db, lock = false): Promise<PostRow | null> {
    const query = tx
      .select(ROW_COLUMNS)
      .from(posts)
      .where(this.live(eq(posts.id, id)))
      .limit(1)
    const rows = lock ? await query.for('update', { of: posts }) : await query
    return rows[0] ?? null
  }

  /**
   * A live post and its author's public fields in one round trip (a statement prepared once per
   * connection): what a read of one post needs.
   * @param id the post id
   * @returns the post and its author, or null when either is absent or deleted
   */
  async findWithAuthor(id: string): Promise<PostWithAuthor | null> {
    return (await this.#withAuthor.byId.execute({ key: id }))[0] ?? null
  }

  /**
   * {@link PostRepository.findWithAuthor} by slug.
   * @param slug the post's slug
   * @returns the post and its author, or null when either is absent or deleted
   */
  async findWithAuthorBySlug(slug: string): Promise<PostWithAuthor | null> {
    return (await this.#withAuthor.bySlug.execute({ key: slug }))[0] ?? null
  }

  /**
   * Whether any post, deleted ones included, holds the slug (the column is UNIQUE over every row).
   * @param slug the slug
   * @param tx an optional transaction
   */
  async slugTaken(slug: string, tx: Database = this.db): Promise<boolean> {
    const rows = await tx.select({ id: posts.id }).from(posts).where(eq(posts.slug, slug)).limit(1)
    return rows.length > 0
  }

  /**
   * One page of live posts matching the filters, without their content, and the number of matches.
   * @param pagination the page and size
   * @param filters the status and the optional narrowing filters
   * @param sort a key of the allow-list (`published_at`, `created_at`, `title`), `-` for descending
   */
  async search(
    pagination: Pagination,
    filters: PostFilters,
    sort: string,
    tx: Database = this.db,
  ): Promise<ListResult<PostListRow>> {
    const where = this.live(
      eq(posts.status, filters.status),
      filters.authorId === undefined ? undefined : eq(posts.authorId, filters.authorId),
      filters.tag === undefined ? undefined : arrayContains(posts.tags, [filters.tag]),
      filters.q === undefined
        ? undefined
        : sql`${posts.searchVector} @@ websearch_to_tsquery('simple', ${filters.q})`,
    )
    const itemsQuery = tx
      .select(LIST_COLUMNS)
      .from(posts)
      .where(where)
      .orderBy(...this.orderBy(sort))
      .limit(pagination.size)
      .offset((pagination.page - 1) * pagination.size)
    const totalQuery = tx.select({ total: sql<number>`count(*)::int` }).from(posts).where(where)
    const [items, totals] =
      tx === this.db ? await Promise.all([itemsQuery, totalQuery]) : [await itemsQuery, await totalQuery]
    return { items, total: totals[0]?.total ?? 0 }
  }

  /**
   * Inserts a post and runs `after` in the same transaction (to record an event).
   * @param values the new row
   * @param after work to commit together with the row
   * @returns the stored post, or null when its slug is taken (also when a concurrent insert won it)
   */
  async createUnique(
    values: NewPost,
    after?: (tx: Database, post: PostRow) => Promise<void>,
  ): Promise<PostRow | null> {
    try {
      return await this.db.transaction(async (tx) => {
        const [post] = await tx.insert(posts).values(values).returning(ROW_COLUMNS)
        await after?.(tx, post!)
        return post!
      })
    } catch (error) {
      if (uniqueViolationOf(error)?.includes('slug')) return null
      throw error
    }
  }

  /**
   * Updates a live post; `updated_at` is refreshed.
   * @param id the post id
   * @param values the columns to change
   * @param tx an optional transaction
   * @returns the updated post, or null when absent or deleted
   */
  async patch(id: string, values: Partial<NewPost>, tx: Database = this.db): Promise<PostRow | null> {
    const rows = await tx
      .update(posts)
      .set({ ...values, updatedAt: new Date() })
      .where(this.live(eq(posts.id, id)))
      .returning(ROW_COLUMNS)
    return rows[0] ?? null
  }
}
