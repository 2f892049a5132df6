import { sql } from 'drizzle-orm'
import { index, integer, jsonb, pgTable, text, varchar } from 'drizzle-orm/pg-core'
import { idColumn, timestamptz } from './base.ts'

/**
 * `outbox_events`: domain events written in the same transaction as the change that causes them,
 * then relayed to the broker. `published_at` stays NULL until the broker confirmed the message.
 * Rows are never updated otherwise (no `updated_at`), and never soft-deleted (no `deleted_at`).
 */
export const outboxEvents = pgTable(
  'outbox_events',
  {
    id: idColumn(),
    type: varchar('type', { length: 100 }).notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    requestId: varchar('request_id', { length: 128 }),
    occurredAt: timestamptz('occurred_at').notNull().default(sql`now()`),
    createdAt: timestamptz('created_at').default(sql`now()`),
    publishedAt: timestamptz('published_at'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  // The relay's scan: unpublished rows in (occurred_at, id) order; published rows leave the index.
  (t) => [index('ix_outbox_events_unpublished').on(t.occurredAt, t.id).where(sql`published_at IS NULL`)],
)

/** A row of `outbox_events`. */
export type OutboxEvent = typeof outboxEvents.$inferSelect
/** The values to insert an outbox event. */
export type NewOutboxEvent = typeof outboxEvents.$inferInsert
