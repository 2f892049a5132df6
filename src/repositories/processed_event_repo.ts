import { and, eq, sql } from 'drizzle-orm'
import type { Database } from '../core/database.ts'
import { processedEvents } from '../models/processed_event.ts'

/** The outcome of a claim: run the handler, skip it (it already ran), or try later (it is running). */
export type ClaimOutcome = 'claimed' | 'done' | 'busy'

/**
 * Data access of `processed_events`, the consumers' idempotency ledger. A handler runs for an event
 * only after claiming its (event, handler) row; the claim is a lease, so a worker that died while
 * running lets another take over once the lease has expired.
 */
export class ProcessedEventRepository {
  readonly #db: Database

  /** @param db the database */
  constructor(db: Database) {
    this.#db = db
  }

  /**
   * Claims the right to run `handler` for `eventId`: atomically, only one claimant wins.
   * @param eventId the event id
   * @param handler the handler name
   * @param leaseMs how long a claim blocks others before it counts as abandoned
   */
  async claim(eventId: string, handler: string, leaseMs: number): Promise<ClaimOutcome> {
    const t = processedEvents
    const claimed = await this.#db
      .insert(t)
      .values({ eventId, handler, status: 'started' })
      .onConflictDoUpdate({
        target: [t.eventId, t.handler],
        set: { status: 'started', startedAt: sql`now()`, attempts: sql`${t.attempts} + 1` },
        // Take the row over only when the last run failed or its lease ran out.
        setWhere: sql`${t.status} = 'failed' OR (${t.status} = 'started' AND ${t.startedAt} < now() - make_interval(secs => ${leaseMs / 1000}))`,
      })
      .returning({ id: t.id })
    if (claimed.length > 0) return 'claimed'
    const rows = await this.#db
      .select({ status: t.status })
      .from(t)
      .where(and(eq(t.eventId, eventId), eq(t.handler, handler)))
    return rows[0]?.status === 'done' ? 'done' : 'busy'
  }

  /**
   * Records that the handler ran to completion: the event will never run through it again.
   * @param eventId the event id
   * @param handler the handler name
   */
  async complete(eventId: string, handler: string): Promise<void> {
    await this.#db
      .update(processedEvents)
      .set({ status: 'done', processedAt: sql`now()`, lastError: null })
      .where(and(eq(processedEvents.eventId, eventId), eq(processedEvents.handler, handler)))
  }

  /**
   * Gives a claim back after the handler failed, so a retry may run it again.
   * @param eventId the event id
   * @param handler the handler name
   * @param error what went wrong, for operators
   */
  async release(eventId: string, handler: string, error: string): Promise<void> {
    await this.#db
      .update(processedEvents)
      .set({ status: 'failed', lastError: error })
      .where(and(eq(processedEvents.eventId, eventId), eq(processedEvents.handler, handler)))
  }
}
