import type { ObjectStorage } from '../core/storage.ts'
import type { PostStatus } from '../models/post.ts'
import type { User } from '../models/user.ts'
import type { PostListRow, PostRow } from '../repositories/post_repo.ts'
import type { PostBody, PostListItemBody } from '../schemas/post.ts'
import { DOWNLOAD_URL_TTL_SECONDS } from './user_service.ts'

/** The public fields of a post's author, as data (object keys, not URLs). */
export interface AuthorView {
  id: string
  username: string
  fullName: string | null
  avatarKey: string | null
}

/**
 * A post with its author as plain JSON data: what the cache holds. It keeps object keys, never
 * download URLs, so a cached post never serves an expired link: URLs are made at read time.
 */
export interface PostView {
  id: string
  title: string
  slug: string
  summary: string | null
  /** Absent in list views. */
  content?: string
  status: PostStatus
  tags: string[]
  coverKey: string | null
  publishedAt: string | null
  createdAt: string
  updatedAt: string
  author: AuthorView
}

/** A page of list views and the number of all matches: what the cache holds for list pages. */
export interface PostPageView {
  items: PostView[]
  total: number
}

/** @returns the public fields of a user as a post's author */
export function authorViewOf(user: User): AuthorView {
  return { id: user.id, username: user.username, fullName: user.fullName, avatarKey: user.avatarKey }
}

/**
 * The view of a post row and its author.
 * @param row a full row (with content) or a list row (without)
 * @param author the author's public fields
 */
export function postViewOf(row: PostRow | PostListRow, author: AuthorView): PostView {
  return {
    id: row.id,
    title: row.title,
    slug: row.slug,
    summary: row.summary,
    ...('content' in row ? { content: row.content } : {}),
    status: row.status,
    tags: row.tags,
    coverKey: row.coverKey,
    publishedAt: row.publishedAt?.toISOString() ?? null,
    createdAt: row.createdAt!.toISOString(),
    updatedAt: row.updatedAt!.toISOString(),
    author,
  }
}

function downloadUrl(storage: ObjectStorage, key: string | null, filename: string): Promise<string | null> {
  return key === null
    ? Promise.resolve(null)
    : storage.presignedGetUrl(key, DOWNLOAD_URL_TTL_SECONDS, { filename })
}

/**
 * The list form of a post, with fresh download URLs for the cover and the author's avatar.
 * @param storage the object store that signs the URLs
 * @param view the post
 */
export async function renderPostItem(storage: ObjectStorage, view: PostView): Promise<PostListItemBody> {
  const [coverUrl, avatarUrl] = await Promise.all([
    downloadUrl(storage, view.coverKey, 'cover'),
    downloadUrl(storage, view.author.avatarKey, 'avatar'),
  ])
  return {
    id: view.id,
    title: view.title,
    slug: view.slug,
    summary: view.summary,
    status: view.status,
    tags: view.tags,
    cover_url: coverUrl,
    author: {
      id: view.author.id,
      username: view.author.username,
      full_name: view.author.fullName,
      avatar_url: avatarUrl,
    },
    published_at: view.publishedAt,
    created_at: view.createdAt,
    updated_at: view.updatedAt,
  }
}

/**
 * The full public form of a post, content included.
 * @param storage the object store that signs the URLs
 * @param view a view made from a full row
 */
export async function renderPost(storage: ObjectStorage, view: PostView): Promise<PostBody> {
  return { ...(await renderPostItem(storage, view)), content: view.content ?? '' }
}
