import type postgres from 'postgres'
import { cacheAside, LIST_TTL_SECONDS, type PostJoinRow, postBody } from '../posts_bare.ts'
import { DATASET_SETUP_TIMEOUT_S, ensurePostsDataset } from '../posts_dataset.ts'
import { type Scenario, sendJson } from '../scenario.ts'

/**
 * The first page of the public list (issue 5). The service serves the first three pages of the
 * unfiltered list from its cache for 15 s, reading the database (the page, its count over the 90,000
 * published posts, the authors) when that entry has expired; the bare server does the same with its
 * own cache ({@link cacheAside}: Redis under `REDIS_URL`, else a `Map`), loading a page with two
 * postgres.js queries in parallel, so the run compares two cache hits with a refill every 15 s. A
 * refill takes seconds under load, so each run is drained: requests a run leaves in flight would
 * otherwise still hold PostgreSQL when the next one starts.
 */
const postsList: Scenario = {
  name: 'posts_list',
  method: 'GET',
  path: '/api/v1/posts?page=1&size=20',
  target: 0.6,
  p99RatioMax: 2,
  drain: true,
  setupTimeoutS: DATASET_SETUP_TIMEOUT_S,
  async setup(ctx) {
    await ensurePostsDataset(ctx.databaseUrl)
    return undefined
  },
  bare: async (req, res, ctx) => {
    const query = new URL(req.url ?? '/', 'http://bare').searchParams
    const page = Number(query.get('page') ?? 1)
    const size = Number(query.get('size') ?? 20)
    const data = await cacheAside(ctx, `list:${page}:${size}`, LIST_TTL_SECONDS, () =>
      publishedPage(ctx.sql(), page, size),
    )
    sendJson(res, 200, { code: 200, message: 'success', data })
  },
}

/** A page of the public list with its meta, in two queries in parallel. */
async function publishedPage(sql: postgres.Sql, page: number, size: number) {
  const [rows, [count]] = await Promise.all([
    sql<PostJoinRow[]>`
      SELECT p.id, p.title, p.slug, p.summary, p.status, p.tags, p.published_at, p.created_at,
             p.updated_at, u.id AS author_id, u.username, u.full_name
      FROM posts p JOIN users u ON u.id = p.author_id AND u.deleted_at IS NULL
      WHERE p.status = 'published' AND p.deleted_at IS NULL
      ORDER BY p.published_at DESC, p.id DESC
      LIMIT ${size} OFFSET ${(page - 1) * size}`,
    sql<{ total: number }[]>`
      SELECT count(*)::int AS total
      FROM posts p JOIN users u ON u.id = p.author_id AND u.deleted_at IS NULL
      WHERE p.status = 'published' AND p.deleted_at IS NULL`,
  ])
  const total = count?.total ?? 0
  const pages = Math.ceil(total / size)
  const meta = { total, page, size, pages, has_next: page < pages, has_prev: page > 1 }
  return { items: rows.map(postBody), meta }
}

export default postsList
