import { postBody, postIdOf, publishedPost, sendPost } from '../posts_bare.ts'
import {
  DATASET_POSTS,
  DATASET_SETUP_TIMEOUT_S,
  ensurePostsDataset,
  publishedPostIds,
} from '../posts_dataset.ts'
import type { Scenario } from '../scenario.ts'

/**
 * One post by id, read from the database (issue 5). The requests walk all 90,000 published posts of the
 * data set in a random order, each server from the start of the list, so no post is read twice in a
 * run (the service reads the cache from a post's second look-up within 60 s). The service pays the
 * rate-limit counter and one prepared query joining the author; the bare server one postgres.js query
 * joining the author.
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
