import { and, arrayContains, eq, getTableColumns, isNull, type SQL, sql } from 'drizzle-orm'
import { v7 as uuidv7 } from 'uuid'
import type { Database } from '../core/database.ts'
import { type NewPost, type PostStatus, posts } from '../models/post.ts'
import { users } from '../models/user.ts'
import type { Pagination } from '../schemas/base.ts'
import { BaseRepository, type ListResult } from './base.ts'

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
 * The parameters of the prepared insert: every column it names, absent optional ones as NULL. A
 * placeholder's value reaches the driver as it is, so the timestamp goes as ISO 8601 text (the
 * column's own mapping is skipped, and postgres.js takes no `Date` for it under Drizzle).
 */
function insertParams(values: NewPost & { id: string }): Record<string, unknown> {
  return {
    id: values.id,
    authorId: values.authorId,
    title: values.title,
    slug: values.slug,
    summary: values.summary ?? null,
    content: values.content,
    status: values.status ?? 'draft',
    tags: values.tags ?? [],
    coverKey: values.coverKey ?? null,
    publishedAt: values.publishedAt?.toISOString() ?? null,
  }
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

  /** The insert of {@link PostRepository.createUnique} without a transaction, prepared once per connection. */
  readonly #insert: { execute(values: Record<string, unknown>): Promise<PostRow[]> }

  /** @param db the database */
  constructor(db: Database) {
    super(db, posts, { published_at: posts.publishedAt, title: posts.title }, '-published_at')
    // The joined author row says whether they are deleted: live(), without a second look-up of them.
    const withAuthor = (key: SQL) =>
      db
        .select({ post: ROW_COLUMNS, author: AUTHOR_COLUMNS })
        .from(posts)
        .innerJoin(users, eq(users.id, posts.authorId))
        .where(and(isNull(posts.deletedAt), isNull(users.deletedAt), key))
        .limit(1)
    this.#insert = db
      .insert(posts)
      .values({
        id: sql.placeholder('id'),
        authorId: sql.placeholder('authorId'),
        title: sql.placeholder('title'),
        slug: sql.placeholder('slug'),
        summary: sql.placeholder('summary'),
        content: sql.placeholder('content'),
        status: sql.placeholder('status'),
        tags: sql.placeholder('tags'),
        coverKey: sql.placeholder('coverKey'),
        // Raw, not through the column's encoder: that one cannot take a NULL.
        publishedAt: sql`${sql.placeholder('publishedAt')}::timestamptz`,
      })
      .onConflictDoNothing({ target: posts.slug })
      .returning(ROW_COLUMNS)
      .prepare('posts_insert_unless_slug_taken')
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
   * Inserts a post unless its slug is taken (by any row, deleted ones included). Without `after` it is
   * one prepared statement, atomic on its own; with `after`, the insert and `after` (to record an
   * event) share a transaction.
   * @param values the new row
   * @param after work to commit together with the row
   * @returns the stored post, or null when its slug is taken (also when a concurrent insert won it)
   */
  async createUnique(
    values: NewPost,
    after?: (tx: Database, post: PostRow) => Promise<unknown>,
  ): Promise<PostRow | null> {
    const row = { ...values, id: values.id ?? uuidv7() }
    if (!after) return (await this.#insert.execute(insertParams(row)))[0] ?? null
    return this.db.transaction(async (tx) => {
      const [post] = await tx
        .insert(posts)
        .values(row)
        .onConflictDoNothing({ target: posts.slug })
        .returning(ROW_COLUMNS)
      if (post) await after(tx, post)
      return post ?? null
    })
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
