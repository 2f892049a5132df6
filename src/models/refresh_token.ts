import { sql } from 'drizzle-orm'
import { index, pgTable, uuid, varchar } from 'drizzle-orm/pg-core'
import { idColumn, timestamptz } from './base.ts'

/**
 * `refresh_tokens`: exactly the original specification's table. `token` holds a SHA-256 hash of the
 * opaque token, never the token itself.
 */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: idColumn(),
    token: varchar('token', { length: 255 }).notNull().unique(),
    userId: uuid('user_id').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    createdAt: timestamptz('created_at').default(sql`now()`),
    revokedAt: timestamptz('revoked_at'),
  },
  (t) => [
    index('ix_refresh_tokens_user_id').on(t.userId),
    index('ix_refresh_tokens_expires_at').on(t.expiresAt),
  ],
)

/** A row of `refresh_tokens`. */
export type RefreshToken = typeof refreshTokens.$inferSelect
