import { eq, or } from 'drizzle-orm'
import type { Database } from '../core/database.ts'
import { type User, users } from '../models/user.ts'
import { BaseRepository } from './base.ts'

/** Data access for `users`. */
export class UserRepository extends BaseRepository<typeof users> {
  /** @param db the database */
  constructor(db: Database) {
    super(db, users, { email: users.email, username: users.username })
  }

  /**
   * @param email the lower-cased email
   * @param tx an optional transaction
   * @returns the live user with that email, or null
   */
  async getByEmail(email: string, tx: Database = this.db): Promise<User | null> {
    const rows = await tx
      .select()
      .from(users)
      .where(this.live(eq(users.email, email)))
      .limit(1)
    return rows[0] ?? null
  }

  /**
   * Whether any row, deleted ones included, holds the email or the username (both are UNIQUE).
   * @param email the lower-cased email
   * @param username the lower-cased username
   * @param tx an optional transaction
   */
  async isTaken(
    email: string,
    username: string,
    tx: Database = this.db,
  ): Promise<{ email: boolean; username: boolean }> {
    const rows = await tx
      .select({ email: users.email, username: users.username })
      .from(users)
      .where(or(eq(users.email, email), eq(users.username, username)))
    return { email: rows.some((r) => r.email === email), username: rows.some((r) => r.username === username) }
  }
}
