import { asc, count, inArray, isNotNull, isNull, sql } from 'drizzle-orm'
import type { Database } from '../core/database.ts'
import { type NewOutboxEvent, type OutboxEvent, outboxEvents } from '../models/outbox_event.ts'
import { deleteCreatedBefore } from './base.ts'

/** Data access of `outbox_events`: writes inside the caller's transaction, and the relay's batch scan. */
export class OutboxRepository {
  readonly #db: Database

  /** @param db the database (or a transaction) */
  constructor(db: Database) {
    this.#db = db
  }

  /**
   * Stores an event; call it inside the transaction of the change that causes it.
   * @param values the event (the id is generated when absent)
   * @param tx the caller's transaction
   * @returns the stored row
   */
  async insert(values: NewOutboxEvent, tx: Database = this.#db): Promise<OutboxEvent> {
    const rows = await tx.insert(outboxEvents).values(values).returning()
    return rows[0] as OutboxEvent
  }

  /**
   * Stores several events with one INSERT.
   * @param values the events, in order
   * @param tx the caller's transaction
   * @returns the stored events, in order
   */
  async insertMany(values: NewOutboxEvent[], tx: Database = this.#db): Promise<OutboxEvent[]> {
    const rows = await tx.insert(outboxEvents).values(values).returning()
    return rows as OutboxEvent[]
  }

  /**
   * Locks the oldest unpublished events, skipping rows another relay holds, so several instances
   * relay side by side without publishing an event twice.
   * @param limit the batch size
   * @param tx the relay's transaction: the locks last until it ends
   * @returns the events in `(occurred_at, id)` order
   */
  async lockUnpublished(limit: number, tx: Database): Promise<OutboxEvent[]> {
    return tx
      .select()
      .from(outboxEvents)
      .where(isNull(outboxEvents.publishedAt))
      .orderBy(asc(outboxEvents.occurredAt), asc(outboxEvents.id))
      .limit(limit)
      .for('update', { skipLocked: true })
  }

  /**
   * Marks events as published (the broker confirmed them).
   * @param ids the event ids
   * @param tx the relay's transaction
   */
  async markPublished(ids: string[], tx: Database): Promise<void> {
    if (ids.length === 0) return
    await tx
      .update(outboxEvents)
      .set({ publishedAt: sql`now()`, attempts: sql`${outboxEvents.attempts} + 1`, lastError: null })
      .where(inArray(outboxEvents.id, ids))
  }

  /**
   * Counts a failed publication on events that stay unpublished.
   * @param ids the event ids
   * @param error what went wrong, for operators
   * @param tx the relay's transaction
   */
  async markFailed(ids: string[], error: string, tx: Database): Promise<void> {
    if (ids.length === 0) return
    await tx
      .update(outboxEvents)
      .set({ attempts: sql`${outboxEvents.attempts} + 1`, lastError: error })
      .where(inArray(outboxEvents.id, ids))
  }

  /**
   * Deletes up to `limit` published events recorded before `beforeId` (ids are UUID v7: they sort by
   * creation time, so the primary key finds them). Unpublished events are never deleted.
   * @param beforeId the first id that stays (see {@link uuidV7Floor})
   * @param limit the most rows deleted by this call
   * @returns how many were deleted
   */
  deletePublishedBefore(beforeId: string, limit: number): Promise<number> {
    return deleteCreatedBefore(this.#db, outboxEvents, beforeId, limit, isNotNull(outboxEvents.publishedAt))
  }

  /** @returns how many events wait to be published (a gauge for `/metrics`) */
  async countUnpublished(): Promise<number> {
    const rows = await this.#db
      .select({ n: count() })
      .from(outboxEvents)
      .where(isNull(outboxEvents.publishedAt))
    return rows[0]?.n ?? 0
  }
}
