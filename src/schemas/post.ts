import { type Static, Type } from '@sinclair/typebox'
import type { PostStatus } from '../models/post.ts'
import { Nullable, Page, PaginationQuery, Timestamp, Uuid } from './base.ts'

/** The sort keys of `GET /posts`, `-` prefixed for descending; the first is the default. */
export const POST_SORTS = [
  '-published_at',
  'published_at',
  '-created_at',
  'created_at',
  'title',
  '-title',
] as const
/** One of {@link POST_SORTS}. */
export type PostSort = (typeof POST_SORTS)[number]
/** The post states of API.md. */
export const POST_STATUSES: readonly PostStatus[] = ['draft', 'published', 'archived']

/** A string limited to `values`, as a plain JSON-schema `enum` (clean 422 details and OpenAPI). */
function StringEnum<T extends string>(values: readonly T[], options: Record<string, unknown> = {}) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options })
}

const Status = StringEnum(POST_STATUSES, { description: 'draft | published | archived' })
const Title = Type.String({ minLength: 1, maxLength: 200 })
const Content = Type.String({
  minLength: 1,
  maxLength: 100_000,
  description: 'HTML allowed; sanitised on write with an allow-list',
})
const Summary = Nullable(Type.String({ maxLength: 500 }))
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 30 }), {
  maxItems: 10,
  description: 'plain text, returned as sent',
})

/** A post's author as posts show it. */
export const PostAuthor = Type.Object({
  id: Uuid,
  username: Type.String(),
  full_name: Nullable(Type.String()),
  avatar_url: Nullable(Type.String(), { description: 'time-limited download URL' }),
})

const postFields = {
  id: Uuid,
  title: Type.String(),
  slug: Type.String(),
  summary: Nullable(Type.String()),
  status: Status,
  tags: Type.Array(Type.String()),
  cover_url: Nullable(Type.String(), { description: 'time-limited download URL' }),
  author: PostAuthor,
  published_at: Nullable(Timestamp, { description: 'set on the first publication' }),
  created_at: Timestamp,
  updated_at: Timestamp,
}

/** A post as the API shows it. */
export const PostPublic = Type.Object(
  { ...postFields, content: Type.String({ description: 'sanitised HTML' }) },
  { title: 'Post' },
)
export type PostBody = Static<typeof PostPublic>

/** A post in a list: everything but `content`. */
export const PostListItem = Type.Object(postFields, { title: 'PostListItem' })
export type PostListItemBody = Static<typeof PostListItem>

/** A page of posts. */
export const PostPage = Page(PostListItem)

/** `POST /posts`. */
export const PostCreateBody = Type.Object(
  {
    title: Title,
    content: Content,
    summary: Type.Optional(Summary),
    tags: Type.Optional(Tags),
    status: Type.Optional(
      StringEnum(POST_STATUSES, { description: 'draft (default) | published | archived' }),
    ),
  },
  { additionalProperties: false },
)
export type PostCreateInput = Static<typeof PostCreateBody>

/** `PATCH /posts/{post_id}`: every field optional; the slug stays as it was. */
export const PostUpdateBody = Type.Object(
  {
    title: Type.Optional(Title),
    content: Type.Optional(Content),
    summary: Type.Optional(Summary),
    tags: Type.Optional(Tags),
    status: Type.Optional(Status),
  },
  { additionalProperties: false },
)
export type PostUpdateInput = Static<typeof PostUpdateBody>

/** `GET /posts`. */
export const PostsQuery = Type.Composite([
  PaginationQuery,
  Type.Object({
    author_id: Type.Optional(Uuid),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 30, description: 'posts carrying this tag' })),
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'full-text search of title, summary and content',
      }),
    ),
    status: Type.Optional(
      StringEnum(POST_STATUSES, {
        description:
          "published when absent; draft or archived list the caller's own (every author's for a superuser)",
      }),
    ),
    sort: Type.Optional(StringEnum(POST_SORTS, { default: '-published_at' })),
  }),
])
export type PostsQueryInput = Static<typeof PostsQuery> & { sort: PostSort }

/** A `{post_id}` path. */
export const PostIdParams = Type.Object({ post_id: Uuid })

/** A `{slug}` path. */
export const PostSlugParams = Type.Object({ slug: Type.String({ minLength: 1, maxLength: 255 }) })
