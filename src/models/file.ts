import { bigint, index, pgTable, uuid, varchar } from 'drizzle-orm/pg-core'
import { baseTailColumns, idColumn } from './base.ts'

/**
 * `files`: uploaded objects. The client's file name is metadata only; `object_key` is generated and
 * never derived from it. `content_type` is sniffed from the bytes.
 */
export const files = pgTable(
  'files',
  {
    id: idColumn(),
    ownerId: uuid('owner_id').notNull(),
    filename: varchar('filename', { length: 255 }).notNull(),
    contentType: varchar('content_type', { length: 100 }).notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    purpose: varchar('purpose', { length: 50 }),
    objectKey: varchar('object_key', { length: 255 }).notNull().unique(),
    ...baseTailColumns(),
  },
  (t) => [index('ix_files_owner_id').on(t.ownerId), index('ix_files_deleted_at').on(t.deletedAt)],
)

/** A row of `files`. */
export type StoredFile = typeof files.$inferSelect
/** The values to insert a file. */
export type NewStoredFile = typeof files.$inferInsert
