import { bearerSubject, registerAndLogin, sendMe, userById } from '../identity.ts'
import type { Scenario } from '../scenario.ts'

/**
 * The caller's profile with an access token (issue 4). The bare server verifies the same JWT with jose
 * and reads the user by id with postgres.js; the service also checks the session deny-list and reads
 * the user through its cache.
 */
const usersMeBearer: Scenario = {
  name: 'users_me_bearer',
  method: 'GET',
  path: '/api/v1/users/me',
  target: 0.6,
  p99RatioMax: 2,
  async setup(ctx) {
    const user = await registerAndLogin(ctx, 'bearer')
    return { headers: { authorization: `Bearer ${user.accessToken}` } }
  },
  bare: async (req, res, ctx) => {
    const subject = await bearerSubject(req.headers.authorization)
    sendMe(res, subject === null ? undefined : await userById(ctx.sql(), subject))
  },
}

export default usersMeBearer
