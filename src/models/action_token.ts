import { index, pgTable, uuid, varchar } from 'drizzle-orm/pg-core'
import { baseTailColumns, idColumn, timestamptz } from './base.ts'

/** What a single-use mailed token is for. */
export type ActionPurpose = 'verify_email' | 'reset_password'

/**
 * `action_tokens`: single-use, expiring tokens mailed for email verification and password reset.
 * Only a SHA-256 hash of the token is stored; `used_at` marks consumption.
 */
export const actionTokens = pgTable(
  'action_tokens',
  {
    id: idColumn(),
    userId: uuid('user_id').notNull(),
    purpose: varchar('purpose', { length: 32 }).$type<ActionPurpose>().notNull(),
    tokenHash: varchar('token_hash', { length: 64 }).notNull().unique(),
    expiresAt: timestamptz('expires_at').notNull(),
    usedAt: timestamptz('used_at'),
    ...baseTailColumns(),
  },
  (t) => [index('ix_action_tokens_user_id').on(t.userId)],
)

/** A row of `action_tokens`. */
export type ActionToken = typeof actionTokens.$inferSelect
