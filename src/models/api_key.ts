import { index, pgTable, uuid, varchar } from 'drizzle-orm/pg-core'
import { baseTailColumns, idColumn, timestamptz } from './base.ts'

/**
 * `api_keys`: long-lived credentials of a user. Only a SHA-256 hash of the secret is stored; `prefix`
 * (shown to the user, unique) finds the row without scanning hashes. Revocation is a soft delete.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: idColumn(),
    userId: uuid('user_id').notNull(),
    name: varchar('name', { length: 100 }).notNull(),
    prefix: varchar('prefix', { length: 32 }).notNull().unique(),
    keyHash: varchar('key_hash', { length: 64 }).notNull(),
    expiresAt: timestamptz('expires_at'),
    lastUsedAt: timestamptz('last_used_at'),
    ...baseTailColumns(),
  },
  (t) => [index('ix_api_keys_user_id').on(t.userId), index('ix_api_keys_deleted_at').on(t.deletedAt)],
)

/** A row of `api_keys`. */
export type ApiKey = typeof apiKeys.$inferSelect
