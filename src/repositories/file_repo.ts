import { and, eq, isNotNull } from 'drizzle-orm'
import type { Database } from '../core/database.ts'
import { files, type StoredFile } from '../models/file.ts'
import type { Pagination } from '../schemas/base.ts'
import { BaseRepository, type ListResult } from './base.ts'

/** Data access for `files`; deleted files are soft-deleted rows until the worker removes their objects. */
export class FileRepository extends BaseRepository<typeof files> {
  /** @param db the database */
  constructor(db: Database) {
    super(db, files)
  }

  /**
   * One page of an owner's live files, newest first, with their count.
   * @param ownerId the owner
   * @param pagination the page and size
   * @param tx an optional transaction
   */
  listByOwner(
    ownerId: string,
    pagination: Pagination,
    tx: Database = this.db,
  ): Promise<ListResult<StoredFile>> {
    return this.list(pagination, { where: [eq(files.ownerId, ownerId)], sort: '-created_at' }, tx)
  }

  /**
   * A file that has been deleted: the one read that sees deleted rows, for removing their objects.
   * @param id the file
   * @param tx an optional transaction
   * @returns the soft-deleted row, or null when absent or still live
   */
  async getDeleted(id: string, tx: Database = this.db): Promise<StoredFile | null> {
    const rows = await tx
      .select()
      .from(files)
      .where(and(eq(files.id, id), isNotNull(files.deletedAt)))
      .limit(1)
    return rows[0] ?? null
  }
}
