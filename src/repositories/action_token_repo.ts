import { and, eq, gt, isNull, sql } from 'drizzle-orm'
import type { Database } from '../core/database.ts'
import { type ActionPurpose, type ActionToken, actionTokens } from '../models/action_token.ts'
import { BaseRepository } from './base.ts'

/** Data access for `action_tokens` (mailed single-use tokens, stored as hashes). */
export class ActionTokenRepository extends BaseRepository<typeof actionTokens> {
  /** @param db the database */
  constructor(db: Database) {
    super(db, actionTokens)
  }

  /**
   * Uses a token up in one conditional update, so it can succeed only once.
   * @param tokenHash the hash of the presented token
   * @param purpose what the token must be for
   * @returns the token, or null when unknown, of another purpose, used or expired
   */
  async consume(
    tokenHash: string,
    purpose: ActionPurpose,
    tx: Database = this.db,
  ): Promise<ActionToken | null> {
    const rows = await tx
      .update(actionTokens)
      .set({ usedAt: sql`now()`, updatedAt: sql`now()` })
      .where(
        this.live(
          and(
            eq(actionTokens.tokenHash, tokenHash),
            eq(actionTokens.purpose, purpose),
            isNull(actionTokens.usedAt),
            gt(actionTokens.expiresAt, sql`now()`),
          ),
        ),
      )
      .returning()
    return rows[0] ?? null
  }

  /**
   * Voids the unused tokens of a user for a purpose (a new one supersedes them).
   * @param userId the user
   * @param purpose the purpose
   */
  async voidUnused(userId: string, purpose: ActionPurpose, tx: Database = this.db): Promise<void> {
    await tx
      .update(actionTokens)
      .set({ deletedAt: sql`now()`, updatedAt: sql`now()` })
      .where(
        this.live(
          and(
            eq(actionTokens.userId, userId),
            eq(actionTokens.purpose, purpose),
            isNull(actionTokens.usedAt),
          ),
        ),
      )
  }
}
