import { postBody, postIdOf, publishedPost, sendPost } from '../posts_bare.ts'
import {
  DATASET_POSTS,
  DATASET_SETUP_TIMEOUT_S,
  ensurePostsDataset,
  publishedPostIds,
} from '../posts_dataset.ts'
import type { Scenario } from '../scenario.ts'

/**
 * One post by id, read from the database (issue 5). The service caches every published post it reads
 * for 60 s, so the requests walk all 90,000 published posts of the data set in a random order, each
 * server from the start of the list: a run would have to make more requests than that, within a
 * minute, for the service to read an id twice. It pays the rate-limit counter, a cache miss, one
 * prepared query joining the author and the cache writes it answers without waiting for; the bare
 * server one postgres.js query joining the author.
 */
const postsGetUncached: Scenario = {
  name: 'posts_get_uncached',
  method: 'GET',
  path: '/api/v1/posts/{post_id}',
  target: 0.6,
  p99RatioMax: 2,
  setupTimeoutS: DATASET_SETUP_TIMEOUT_S,
  async setup(ctx) {
    await ensurePostsDataset(ctx.databaseUrl)
    const ids = await publishedPostIds(ctx.databaseUrl, DATASET_POSTS)
    const pathOf = (n: number) => `/api/v1/posts/${ids[n % ids.length]}`
    return {
      path: pathOf(0),
      sequence: () => {
        let n = 0
        return () => ({ path: pathOf(n++) })
      },
    }
  },
  bare: async (req, res, ctx) => {
    const row = await publishedPost(ctx.sql(), postIdOf(req))
    sendPost(res, row && postBody(row))
  },
}

export default postsGetUncached
