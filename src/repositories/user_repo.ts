import { eq, ilike, inArray, or, type SQL } from 'drizzle-orm'
import type { Database } from '../core/database.ts'
import { BusinessException } from '../exceptions.ts'
import { type NewUser, type User, users } from '../models/user.ts'
import type { Pagination } from '../schemas/base.ts'
import { BaseRepository, type ListResult } from './base.ts'
import { uniqueViolationOf } from './errors.ts'

/** Filters of the superuser's user list. */
export interface UserFilters {
  /** Case-insensitive substring of email, username or full name. */
  q?: string
  isActive?: boolean
}

/** Escapes `%`, `_` and `\\` so a search term matches literally inside ILIKE. */
function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

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
   * Several live users in one query (e.g. the authors of a page of posts).
   * @param ids the user ids; duplicates are fine
   * @param tx an optional transaction
   * @returns the live users among them, in no particular order
   */
  async getManyByIds(ids: string[], tx: Database = this.db): Promise<User[]> {
    const unique = [...new Set(ids)]
    if (unique.length === 0) return []
    return tx
      .select()
      .from(users)
      .where(this.live(inArray(users.id, unique)))
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

  /**
   * Searches live users, newest first.
   * @param pagination the page and size
   * @param filters the search term and the active flag
   */
  search(pagination: Pagination, filters: UserFilters, tx: Database = this.db): Promise<ListResult<User>> {
    const where: (SQL | undefined)[] = []
    if (filters.q) {
      const pattern = likePattern(filters.q)
      where.push(
        or(ilike(users.email, pattern), ilike(users.username, pattern), ilike(users.fullName, pattern)),
      )
    }
    if (filters.isActive !== undefined) where.push(eq(users.isActive, filters.isActive))
    return this.list(pagination, { where, sort: '-created_at' }, tx)
  }

  /**
   * Inserts a user, and runs `after` in the same transaction (to record an event).
   * @param values the new row
   * @param after work to commit together with the row
   * @throws {BusinessException} 409 when the email or username is taken, also when two inserts race
   */
  async createUnique(values: NewUser, after?: (tx: Database, user: User) => Promise<void>): Promise<User> {
    try {
      return await this.db.transaction(async (tx) => {
        const user = await this.create(values, tx)
        await after?.(tx, user)
        return user
      })
    } catch (error) {
      throw conflictOf(error) ?? error
    }
  }

  /**
   * Updates a user, turning a taken username into a 409.
   * @throws {BusinessException} 409 when the new username is taken
   */
  async updateUnique(id: string, values: Partial<NewUser>, tx: Database = this.db): Promise<User | null> {
    try {
      return await this.update(id, values, tx)
    } catch (error) {
      throw conflictOf(error) ?? error
    }
  }
}

function conflictOf(error: unknown): BusinessException | null {
  const constraint = uniqueViolationOf(error)
  if (constraint === null) return null
  return BusinessException.conflict(
    constraint.includes('email') ? 'Email already registered' : 'Username already taken',
  )
}
