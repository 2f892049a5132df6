import { and, asc, count, desc, eq, inArray, isNull, lt, type SQL } from 'drizzle-orm'
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import type { Database } from '../core/database.ts'
import type { Pagination } from '../schemas/base.ts'

/** A table with the shared columns: `id`, `created_at`, `updated_at`, `deleted_at`. */
export type SoftDeleteTable = PgTable & {
  id: PgColumn
  createdAt: PgColumn
  updatedAt: PgColumn
  deletedAt: PgColumn
}

/**
 * Deletes up to `limit` rows of `table` whose UUID v7 id sorts before `beforeId` (they were created
 * earlier: the primary key finds them) and that match `where`, oldest first. Rows another transaction
 * holds are skipped, so several instances prune side by side without waiting on each other.
 * @param db the database
 * @param table a table with an `id` primary key
 * @param beforeId the first id that stays
 * @param limit the most rows deleted by this call
 * @param where a further condition on the rows
 * @returns how many were deleted
 */
export async function deleteCreatedBefore(
  db: Database,
  table: PgTable & { id: PgColumn },
  beforeId: string,
  limit: number,
  where?: SQL,
): Promise<number> {
  const doomed = db
    .select({ id: table.id })
    .from(table)
    .where(and(lt(table.id, beforeId), where))
    .orderBy(asc(table.id))
    .limit(limit)
    .for('update', { skipLocked: true })
  const deleted = await db.delete(table).where(inArray(table.id, doomed)).returning({ id: table.id })
  return deleted.length
}

/** What a list query may narrow and order by. */
export interface ListQuery {
  /** Extra conditions, combined with AND (the "not deleted" one is always added). */
  where?: (SQL | undefined)[]
  /** A sort key from the repository's allow-list, `-` prefixed for descending. */
  sort?: string
}

/** One page of rows and the number of all matching rows. */
export interface ListResult<Row> {
  items: Row[]
  total: number
}

/**
 * Data access shared by every soft-deletable table. Every read excludes deleted rows; every method
 * takes an optional transaction (`tx`) so services can compose them atomically.
 */
export class BaseRepository<T extends SoftDeleteTable> {
  protected readonly db: Database
  protected readonly table: T
  /** Sort keys a caller may ask for, mapped to their columns. */
  protected readonly sortable: Record<string, PgColumn>
  protected readonly defaultSort: string

  /**
   * @param db the database
   * @param table the Drizzle table
   * @param sortable the sort allow-list (keys without the `-` prefix)
   * @param defaultSort the sort used when none is asked for
   */
  constructor(db: Database, table: T, sortable: Record<string, PgColumn> = {}, defaultSort = '-created_at') {
    this.db = db
    this.table = table
    this.sortable = { created_at: table.createdAt, ...sortable }
    this.defaultSort = defaultSort
  }

  /** The condition every read adds: the row is not soft-deleted. */
  protected live(...conditions: (SQL | undefined)[]): SQL | undefined {
    return and(isNull(this.table.deletedAt), ...conditions)
  }

  /** The ORDER BY terms of a sort key; ties are broken by id so pages never overlap. */
  protected orderBy(sort: string | undefined): SQL[] {
    const key = sort ?? this.defaultSort
    const column = this.sortable[key.replace(/^-/, '')]
    if (!column) throw new Error(`sort key "${key}" is not in the allow-list`)
    return key.startsWith('-') ? [desc(column), desc(this.table.id)] : [asc(column), asc(this.table.id)]
  }

  /**
   * @param id the row id
   * @param tx an optional transaction
   * @returns the live row, or null when absent or soft-deleted
   */
  async getById(id: string, tx: Database = this.db): Promise<T['$inferSelect'] | null> {
    const rows = await tx
      .select()
      .from(this.table as PgTable)
      .where(this.live(eq(this.table.id, id)))
      .limit(1)
    return (rows[0] as T['$inferSelect'] | undefined) ?? null
  }

  /**
   * One page of live rows matching the query, with the total count.
   * @param pagination the page and size
   * @param query filters and sort
   * @param tx an optional transaction
   */
  async list(
    pagination: Pagination,
    query: ListQuery = {},
    tx: Database = this.db,
  ): Promise<ListResult<T['$inferSelect']>> {
    const where = this.live(...(query.where ?? []))
    const itemsQuery = tx
      .select()
      .from(this.table as PgTable)
      .where(where)
      .orderBy(...this.orderBy(query.sort))
      .limit(pagination.size)
      .offset((pagination.page - 1) * pagination.size)
    const totalQuery = tx
      .select({ total: count() })
      .from(this.table as PgTable)
      .where(where)
    // A transaction runs on one connection, so its queries go one after the other.
    const [items, totals] =
      tx === this.db ? await Promise.all([itemsQuery, totalQuery]) : [await itemsQuery, await totalQuery]
    return { items: items as T['$inferSelect'][], total: totals[0]?.total ?? 0 }
  }

  /**
   * @param values the new row (the id is generated when absent)
   * @param tx an optional transaction
   * @returns the stored row
   */
  async create(values: T['$inferInsert'], tx: Database = this.db): Promise<T['$inferSelect']> {
    const rows = await tx
      .insert(this.table as PgTable)
      .values(values)
      .returning()
    return rows[0] as T['$inferSelect']
  }

  /**
   * Updates a live row; `updated_at` is refreshed.
   * @param id the row id
   * @param values the columns to change
   * @param tx an optional transaction
   * @returns the updated row, or null when absent or soft-deleted
   */
  async update(
    id: string,
    values: Partial<T['$inferInsert']>,
    tx: Database = this.db,
  ): Promise<T['$inferSelect'] | null> {
    const rows = await tx
      .update(this.table as PgTable)
      .set({ ...values, updatedAt: new Date() })
      .where(this.live(eq(this.table.id, id)))
      .returning()
    return (rows[0] as T['$inferSelect'] | undefined) ?? null
  }

  /**
   * Marks a live row deleted.
   * @param id the row id
   * @param tx an optional transaction
   * @returns true when a live row was deleted
   */
  async softDelete(id: string, tx: Database = this.db): Promise<boolean> {
    const now = new Date()
    const rows = await tx
      .update(this.table as PgTable)
      .set({ deletedAt: now, updatedAt: now })
      .where(this.live(eq(this.table.id, id)))
      .returning({ id: this.table.id })
    return rows.length > 0
  }
}
