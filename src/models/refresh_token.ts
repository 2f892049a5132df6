import { sql } from 'drizzle-orm'
import { index, pgTable, uuid, varchar } from 'drizzle-orm/pg-core'
import { idColumn, timestamptz } from './base.ts'

/**
 * `refresh_tokens`: the original specification's table. `token` holds a SHA-256 hash of the opaque
 * token, never the token itself. Added for rotation: `family_id`, the session (`sid`) every token of
 * one login belongs to, so re-use of a rotated token can revoke the whole family.
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
    familyId: uuid('family_id').notNull(),
  },
  (t) => [
    index('ix_refresh_tokens_user_id').on(t.userId),
    index('ix_refresh_tokens_expires_at').on(t.expiresAt),
    index('ix_refresh_tokens_family_id').on(t.familyId),
  ],
)

/** A row of `refresh_tokens`. */
export type RefreshToken = typeof refreshTokens.$inferSelect
