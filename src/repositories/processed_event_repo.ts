import { and, eq, inArray, sql } from 'drizzle-orm'
import type { Database } from '../core/database.ts'
import { processedEvents } from '../models/processed_event.ts'
import { deleteCreatedBefore } from './base.ts'

/** The outcome of a claim: run the handler, skip it (it already ran), or try later (it is running). */
export type ClaimOutcome = 'claimed' | 'done' | 'busy'

/** One line of the ledger: a handler and an event it runs for. */
export interface LedgerKey {
  eventId: string
  handler: string
}

const ledgerId = (key: LedgerKey) => `${key.eventId} ${key.handler}`

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
   * Claims the right to run a handler for an event, for several (event, handler) pairs in one
   * statement: atomically, only one claimant of a pair wins. A pair named twice in one call is
   * claimed once; its second mention is `busy` (the first is about to run it).
   * @param keys the (event, handler) pairs
   * @param leaseMs how long a claim blocks others before it counts as abandoned
   * @returns each pair's outcome, in the order of `keys`
   */
  async claimMany(keys: readonly LedgerKey[], leaseMs: number): Promise<ClaimOutcome[]> {
    const t = processedEvents
    const unique = [...new Map(keys.map((key) => [ledgerId(key), key])).values()]
    if (unique.length === 0) return []
    const claimed = await this.#db
      .insert(t)
      .values(unique.map(({ eventId, handler }) => ({ eventId, handler, status: 'started' as const })))
      .onConflictDoUpdate({
        target: [t.eventId, t.handler],
        set: { status: 'started', startedAt: sql`now()`, attempts: sql`${t.attempts} + 1` },
        // Take the row over only when the last run failed or its lease ran out.
        setWhere: sql`${t.status} = 'failed' OR (${t.status} = 'started' AND ${t.startedAt} < now() - make_interval(secs => ${leaseMs / 1000}))`,
      })
      .returning({ eventId: t.eventId, handler: t.handler })
    const won = new Set(claimed.map(ledgerId))
    const lost = unique.filter((key) => !won.has(ledgerId(key)))
    const done = new Set<string>()
    if (lost.length > 0) {
      const rows = await this.#db
        .select({ eventId: t.eventId, handler: t.handler })
        .from(t)
        .where(and(inArray(t.eventId, [...new Set(lost.map((k) => k.eventId))]), eq(t.status, 'done')))
      for (const row of rows) done.add(ledgerId(row))
    }
    const seen = new Set<string>()
    return keys.map((key) => {
      const id = ledgerId(key)
      const first = !seen.has(id)
      seen.add(id)
      if (won.has(id)) return first ? 'claimed' : 'busy'
      return done.has(id) ? 'done' : 'busy'
    })
  }

  /**
   * Records that handlers ran to completion: those events never run through them again.
   * @param keys the (event, handler) pairs
   */
  async completeMany(keys: readonly LedgerKey[]): Promise<void> {
    const t = processedEvents
    for (const [handler, lines] of Map.groupBy(keys, (key) => key.handler)) {
      const eventIds = lines.map((line) => line.eventId)
      await this.#db
        .update(t)
        .set({ status: 'done', processedAt: sql`now()`, lastError: null })
        .where(and(eq(t.handler, handler), inArray(t.eventId, eventIds)))
    }
  }

  /**
   * Deletes up to `limit` ledger lines created before `beforeId` (UUID v7 ids sort by creation time).
   * An event redelivered after its line is gone runs through its handlers again.
   * @param beforeId the first id that stays
   * @param limit the most rows deleted by this call
   * @returns how many were deleted
   */
  deleteBefore(beforeId: string, limit: number): Promise<number> {
    return deleteCreatedBefore(this.#db, processedEvents, beforeId, limit)
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
