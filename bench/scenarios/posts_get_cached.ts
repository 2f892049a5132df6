import { sendCachedPost } from '../posts_bare.ts'
import { DATASET_SETUP_TIMEOUT_S, ensurePostsDataset, publishedPostIds } from '../posts_dataset.ts'
import type { Scenario } from '../scenario.ts'

/**
 * One hot post (issue 5), served from the cache after two reads (the service reads and fills the cache
 * from a post's second look-up within 60 s; the bare server from its first): by Redis when the bench runs
 * with `REDIS_URL` (`REDIS_URL=redis://127.0.0.1:6379/5 npm run bench`), else by the service's
 * in-process cache. The service also counts the caller's rate-limit budget in the same cache; the bare
 * server makes one cache GET of the public Post, parses it and sends it.
 */
const postsGetCached: Scenario = {
  name: 'posts_get_cached',
  method: 'GET',
  path: '/api/v1/posts/{post_id}',
  target: 0.6,
  p99RatioMax: 2,
  setupTimeoutS: DATASET_SETUP_TIMEOUT_S,
  async setup(ctx) {
    await ensurePostsDataset(ctx.databaseUrl)
    const [id] = await publishedPostIds(ctx.databaseUrl, 1)
    const path = `/api/v1/posts/${id}`
    for (let read = 0; read < 2; read++) {
      const reply = await ctx.request('GET', path)
      if (reply.status !== 200) throw new Error(`GET ${path}: expected 200, got ${reply.status}`)
    }
    return { path }
  },
  bare: sendCachedPost,
}

export default postsGetCached
