import { sql } from 'drizzle-orm'
import { customType, index, pgTable, text, uuid, varchar } from 'drizzle-orm/pg-core'
import { baseTailColumns, idColumn, timestamptz } from './base.ts'

/** A post's lifecycle state. */
export type PostStatus = 'draft' | 'published' | 'archived'

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' })

/**
 * `posts`: blog-style content. `search_vector` is a generated full-text index of title, summary and
 * content (the `simple` configuration, available on PostgreSQL and PGlite alike).
 */
export const posts = pgTable(
  'posts',
  {
    id: idColumn(),
    authorId: uuid('author_id').notNull(),
    title: varchar('title', { length: 200 }).notNull(),
    slug: varchar('slug', { length: 255 }).notNull().unique(),
    summary: varchar('summary', { length: 500 }),
    content: text('content').notNull(),
    status: varchar('status', { length: 20 }).$type<PostStatus>().notNull().default('draft'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    coverKey: varchar('cover_key', { length: 255 }),
    publishedAt: timestamptz('published_at'),
    ...baseTailColumns(),
    searchVector: tsvector('search_vector').generatedAlwaysAs(
      sql`to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(summary, '') || ' ' || coalesce(content, ''))`,
    ),
  },
  (t) => [
    index('ix_posts_author_id').on(t.authorId),
    index('ix_posts_status_published_at').on(t.status, t.publishedAt),
    index('ix_posts_created_at').on(t.createdAt),
    index('ix_posts_deleted_at').on(t.deletedAt),
    index('ix_posts_tags').using('gin', t.tags),
    index('ix_posts_search_vector').using('gin', t.searchVector),
  ],
)

/** A row of `posts`. */
export type Post = typeof posts.$inferSelect
/** The values to insert a post. */
export type NewPost = typeof posts.$inferInsert
