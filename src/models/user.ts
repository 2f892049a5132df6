import { sql } from 'drizzle-orm'
import { boolean, index, pgTable, varchar } from 'drizzle-orm/pg-core'
import { baseTailColumns, idColumn } from './base.ts'

/** `users`: accounts, exactly as the original specification's table, plus the avatar's object key. */
export const users = pgTable(
  'users',
  {
    id: idColumn(),
    email: varchar('email', { length: 255 }).notNull().unique(),
    username: varchar('username', { length: 50 }).notNull().unique(),
    hashedPassword: varchar('hashed_password', { length: 255 }).notNull(),
    fullName: varchar('full_name', { length: 100 }),
    isActive: boolean('is_active').default(sql`true`),
    isSuperuser: boolean('is_superuser').default(sql`false`),
    isVerified: boolean('is_verified').default(sql`false`),
    ...baseTailColumns(),
    avatarKey: varchar('avatar_key', { length: 255 }),
  },
  (t) => [index('ix_users_deleted_at').on(t.deletedAt)],
)

/** A row of `users`. */
export type User = typeof users.$inferSelect
/** The values to insert a user. */
export type NewUser = typeof users.$inferInsert
