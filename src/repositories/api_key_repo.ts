import { and, desc, eq, sql } from 'drizzle-orm'
import type { Database } from '../core/database.ts'
import { type ApiKey, apiKeys } from '../models/api_key.ts'
import { BaseRepository } from './base.ts'

/** Data access for `api_keys`; revoked keys are soft-deleted rows. */
export class ApiKeyRepository extends BaseRepository<typeof apiKeys> {
  /** @param db the database */
  constructor(db: Database) {
    super(db, apiKeys)
  }

  /**
   * @param prefix the key's public prefix
   * @returns the live key with that prefix, or null
   */
  async getByPrefix(prefix: string, tx: Database = this.db): Promise<ApiKey | null> {
    const rows = await tx
      .select()
      .from(apiKeys)
      .where(this.live(eq(apiKeys.prefix, prefix)))
      .limit(1)
    return rows[0] ?? null
  }

  /**
   * @param userId the owner
   * @returns the owner's live keys, newest first
   */
  listForUser(userId: string, tx: Database = this.db): Promise<ApiKey[]> {
    return tx
      .select()
      .from(apiKeys)
      .where(this.live(eq(apiKeys.userId, userId)))
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
  }

  /**
   * @param id the key
   * @param userId the owner it must belong to
   * @returns the live key when it is that user's, else null
   */
  async getOwned(id: string, userId: string, tx: Database = this.db): Promise<ApiKey | null> {
    const rows = await tx
      .select()
      .from(apiKeys)
      .where(this.live(and(eq(apiKeys.id, id), eq(apiKeys.userId, userId))))
      .limit(1)
    return rows[0] ?? null
  }

  /**
   * Records a use without touching `updated_at`.
   * @param id the key
   * @param at when it was used
   */
  async touch(id: string, at: Date, tx: Database = this.db): Promise<void> {
    // Drizzle would refresh updated_at on any update; a use is not a change of the key.
    await tx
      .update(apiKeys)
      .set({ lastUsedAt: at, updatedAt: sql`${apiKeys.updatedAt}` })
      .where(eq(apiKeys.id, id))
  }

  /**
   * Revokes every key of a user (on deletion).
   * @param userId the owner
   * @returns the prefixes revoked, so cached lookups can be dropped
   */
  async revokeAllForUser(userId: string, tx: Database = this.db): Promise<string[]> {
    const now = new Date()
    const rows = await tx
      .update(apiKeys)
      .set({ deletedAt: now, updatedAt: now })
      .where(this.live(eq(apiKeys.userId, userId)))
      .returning({ prefix: apiKeys.prefix })
    return rows.map((r) => r.prefix)
  }
}
