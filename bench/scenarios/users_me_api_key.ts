import { createHash } from 'node:crypto'
import { expectData, registerAndLogin, sendMe, type UserRow } from '../identity.ts'
import type { Scenario } from '../scenario.ts'

/** The service's key format: `folio_<8>_<43>`, the first two parts being the stored prefix. */
const KEY_PATTERN = /^(folio_[A-Za-z0-9_-]{8})_[A-Za-z0-9_-]{43}$/

/**
 * The caller's profile with an API key (issue 4). The bare server finds the live key by prefix and
 * SHA-256 hash and its live owner in one postgres.js query; the service reads the key from the
 * database on every request and the owner through its cache.
 */
const usersMeApiKey: Scenario = {
  name: 'users_me_api_key',
  method: 'GET',
  path: '/api/v1/users/me',
  target: 0.6,
  p99RatioMax: 2,
  async setup(ctx) {
    const user = await registerAndLogin(ctx, 'apikey')
    const created = expectData<{ key: string }>(
      await ctx.request('POST', '/api/v1/api-keys', {
        headers: { authorization: `Bearer ${user.accessToken}` },
        body: { name: 'bench' },
      }),
      201,
      'create API key',
    )
    return { headers: { 'x-api-key': created.key } }
  },
  bare: async (req, res, ctx) => {
    const presented = req.headers['x-api-key']
    const match = typeof presented === 'string' ? KEY_PATTERN.exec(presented) : null
    if (!match) return sendMe(res, undefined)
    const hash = createHash('sha256')
      .update(presented as string)
      .digest('hex')
    const rows = await ctx.sql()<UserRow[]>`
      SELECT u.id, u.email, u.username, u.full_name, u.is_active, u.is_superuser, u.is_verified,
             u.created_at, u.updated_at
      FROM api_keys k JOIN users u ON u.id = k.user_id AND u.deleted_at IS NULL
      WHERE k.prefix = ${match[1]!} AND k.key_hash = ${hash} AND k.deleted_at IS NULL
        AND (k.expires_at IS NULL OR k.expires_at > now())`
    sendMe(res, rows[0])
  },
}

export default usersMeApiKey
