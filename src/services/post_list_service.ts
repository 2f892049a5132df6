import type { ObjectStorage } from '../core/storage.ts'
import type { User } from '../models/user.ts'
import type { PostFilters, PostRepository } from '../repositories/post_repo.ts'
import type { UserRepository } from '../repositories/user_repo.ts'
import type { Pagination } from '../schemas/base.ts'
import type { PostListItemBody, PostsQueryInput } from '../schemas/post.ts'
import { type PageResult, toPage } from '../utils/helpers.ts'
import { CACHED_LIST_PAGES, type PostCache } from './post_cache.ts'
import { authorViewOf, type PostPageView, postViewOf, renderPostItem } from './post_view.ts'

/** Dependencies of {@link PostListService}. */
export interface PostListServiceDeps {
  posts: PostRepository
  users: UserRepository
  cache: PostCache
  storage: ObjectStorage
}

/** The default sort of the list (API.md). */
const DEFAULT_SORT = '-published_at'

/**
 * What a caller's list query may show, or null when it can show nothing. Without `status` (or with
 * `published`) the list is every author's published posts; `draft` and `archived` list the caller's
 * own, every author's for a superuser, and nothing for an anonymous caller.
 */
export function visibleFilters(caller: User | null, query: PostsQueryInput): PostFilters | null {
  const narrowing = { tag: query.tag, q: query.q }
  const status = query.status ?? 'published'
  if (status === 'published') return { status, authorId: query.author_id, ...narrowing }
  if (!caller) return null
  if (caller.isSuperuser) return { status, authorId: query.author_id, ...narrowing }
  if (query.author_id !== undefined && query.author_id !== caller.id) return null
  return { status, authorId: caller.id, ...narrowing }
}

/** Whether a query asks for one of the first pages of the plain public list (the cached ones). */
function isCachedPage(query: PostsQueryInput): boolean {
  const filtered = [query.author_id, query.tag, query.q, query.status].some((v) => v !== undefined)
  return !filtered && query.sort === DEFAULT_SORT && query.page <= CACHED_LIST_PAGES
}

/**
 * The post list: filters, search and sorts, with the visibility rules of API.md. Authors are loaded
 * for a whole page in one query. The first pages of the public list are served from the cache.
 */
export class PostListService {
  readonly #d: PostListServiceDeps

  /** @param deps repositories, cache and storage */
  constructor(deps: PostListServiceDeps) {
    this.#d = deps
  }

  /**
   * A page of the posts the caller may see, without their content.
   * @param caller the authenticated caller, or null
   * @param query pagination, filters and sort
   */
  async list(caller: User | null, query: PostsQueryInput): Promise<PageResult<PostListItemBody>> {
    const pagination: Pagination = { page: query.page, size: query.size }
    const filters = visibleFilters(caller, query)
    if (!filters) return toPage([], 0, pagination)
    const load = () => this.#load(pagination, filters, query.sort)
    const page = isCachedPage(query)
      ? await this.#d.cache.listPage(pagination.page, pagination.size, load)
      : await load()
    const items = await Promise.all(page.items.map((view) => renderPostItem(this.#d.storage, view)))
    return toPage(items, page.total, pagination)
  }

  async #load(pagination: Pagination, filters: PostFilters, sort: string): Promise<PostPageView> {
    const { items, total } = await this.#d.posts.search(pagination, filters, sort)
    const authors = new Map(
      (await this.#d.users.getManyByIds(items.map((p) => p.authorId))).map((u) => [u.id, authorViewOf(u)]),
    )
    const views = items.flatMap((row) => {
      const author = authors.get(row.authorId)
      // An author deleted between the two queries: their posts are hidden from now on.
      return author ? [postViewOf(row, author)] : []
    })
    return { items: views, total }
  }
}
