import { sql } from 'drizzle-orm'
import { integer, pgTable, text, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core'
import { idColumn, timestamptz } from './base.ts'

/** Where one handler stands with one event: running (under a lease), failed (may run again), done. */
export type ProcessedEventStatus = 'started' | 'failed' | 'done'

/**
 * `processed_events`: the idempotency ledger of the event consumers. One row per (event, handler):
 * a handler runs for an event only when it claims that row, so a redelivered event has no second effect.
 */
export const processedEvents = pgTable(
  'processed_events',
  {
    id: idColumn(),
    eventId: uuid('event_id').notNull(),
    handler: varchar('handler', { length: 100 }).notNull(),
    status: varchar('status', { length: 16 }).$type<ProcessedEventStatus>().notNull().default('started'),
    attempts: integer('attempts').notNull().default(1),
    lastError: text('last_error'),
    startedAt: timestamptz('started_at').notNull().default(sql`now()`),
    processedAt: timestamptz('processed_at'),
    createdAt: timestamptz('created_at').default(sql`now()`),
  },
  (t) => [uniqueIndex('ux_processed_events_event_id_handler').on(t.eventId, t.handler)],
)

/** A row of `processed_events`. */
export type ProcessedEvent = typeof processedEvents.$inferSelect
