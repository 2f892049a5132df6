import { registerAndLogin } from '../identity.ts'
import type { Scenario } from '../scenario.ts'

/** Redis database 4 of the local server, unless the caller names a Redis. */
const BENCH_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/4'

/**
 * What the rate limiter costs (issue 3): an authenticated `GET /users/me` on two service children on
 * the real Redis, one limiting (a counter round trip per request, limits out of reach) and one with
 * `RATE_LIMIT_ENABLED=false`. Both share a cache key prefix of their own, deleted afterwards.
 */
const rateLimitCost: Scenario = {
  name: 'rate_limit_cost',
  method: 'GET',
  path: '/api/v1/users/me',
  target: 0.85,
  baseline: {
    label: 'limiter off',
    subjectLabel: 'limiter on',
    env: { REDIS_URL: BENCH_REDIS_URL },
    baselineEnv: { RATE_LIMIT_ENABLED: 'false' },
  },
  async setup(ctx) {
    const user = await registerAndLogin(ctx, 'ratelimit')
    return { headers: { authorization: `Bearer ${user.accessToken}` } }
  },
}

export default rateLimitCost
