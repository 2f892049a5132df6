import { sql } from 'drizzle-orm'
import { timestamp, uuid } from 'drizzle-orm/pg-core'
import { v7 as uuidv7 } from 'uuid'

/** A `TIMESTAMPTZ` column, read as a `Date` (millisecond precision in the API). */
export const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })

/** The UUID v7 primary key, made by the service; `gen_random_uuid()` is only the database's fallback. */
export const idColumn = () =>
  uuid('id')
    .primaryKey()
    .default(sql`gen_random_uuid()`)
    .$defaultFn(() => uuidv7())

/** Creation and update times; `updated_at` is refreshed by every update the repositories issue. */
export const timestampColumns = () => ({
  createdAt: timestamptz('created_at').default(sql`now()`),
  updatedAt: timestamptz('updated_at')
    .default(sql`now()`)
    .$onUpdateFn(() => new Date()),
})

/** The soft-delete mark: NULL while the row is live. */
export const deletedAtColumn = () => timestamptz('deleted_at')

/** The shared columns every table ends with: `created_at`, `updated_at`, `deleted_at` (`id` comes first). */
export const baseTailColumns = () => ({
  ...timestampColumns(),
  deletedAt: deletedAtColumn(),
})
