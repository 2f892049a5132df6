import { and, eq, gt, isNull, ne, sql } from 'drizzle-orm'
import type { Database } from '../core/database.ts'
import { type RefreshToken, refreshTokens } from '../models/refresh_token.ts'

/** Data access for `refresh_tokens` (hashes only; rows are revoked, never soft-deleted). */
export class RefreshTokenRepository {
  readonly #db: Database

  /** @param db the database */
  constructor(db: Database) {
    this.#db = db
  }

  /**
   * Stores a new token of a session.
   * @param values the token's hash, owner, session and expiry
   * @param tx an optional transaction
   */
  async create(
    values: { tokenHash: string; userId: string; familyId: string; expiresAt: Date },
    tx: Database = this.#db,
  ): Promise<RefreshToken> {
    const rows = await tx
      .insert(refreshTokens)
      .values({
        token: values.tokenHash,
        userId: values.userId,
        familyId: values.familyId,
        expiresAt: values.expiresAt,
      })
      .returning()
    return rows[0]!
  }

  /**
   * Revokes a live token in one conditional update: of concurrent callers with the same token,
   * exactly one gets the row back.
   * @param tokenHash the hash of the presented token
   * @param tx an optional transaction
   * @returns the token as it was, or null when unknown, expired or already revoked
   */
  async claim(tokenHash: string, tx: Database = this.#db): Promise<RefreshToken | null> {
    const rows = await tx
      .update(refreshTokens)
      .set({ revokedAt: sql`now()` })
      .where(
        and(
          eq(refreshTokens.token, tokenHash),
          isNull(refreshTokens.revokedAt),
          gt(refreshTokens.expiresAt, sql`now()`),
        ),
      )
      .returning()
    return rows[0] ?? null
  }

  /**
   * @param tokenHash the hash of a token
   * @returns the row whatever its state, or null
   */
  async findByHash(tokenHash: string, tx: Database = this.#db): Promise<RefreshToken | null> {
    const rows = await tx.select().from(refreshTokens).where(eq(refreshTokens.token, tokenHash)).limit(1)
    return rows[0] ?? null
  }

  /**
   * Revokes every live token of one session.
   * @param familyId the session
   */
  async revokeFamily(familyId: string, tx: Database = this.#db): Promise<void> {
    await tx
      .update(refreshTokens)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)))
  }

  /**
   * Revokes every session of a user, but one if asked.
   * @param userId the user
   * @param exceptFamilyId a session to keep (the caller's own on a password change)
   * @returns the sessions that were not yet expired, so their access tokens can be refused too
   */
  async revokeAllForUser(
    userId: string,
    exceptFamilyId?: string,
    tx: Database = this.#db,
  ): Promise<string[]> {
    const scope = and(
      eq(refreshTokens.userId, userId),
      gt(refreshTokens.expiresAt, sql`now()`),
      exceptFamilyId ? ne(refreshTokens.familyId, exceptFamilyId) : undefined,
    )
    const families = await tx
      .selectDistinct({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(scope)
    await tx
      .update(refreshTokens)
      .set({ revokedAt: sql`now()` })
      .where(and(scope, isNull(refreshTokens.revokedAt)))
    return families.map((f) => f.familyId)
  }
}
