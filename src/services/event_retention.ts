import type { Logger } from 'pino'
import { v7 as uuidv7 } from 'uuid'
import type { Database } from '../core/database.ts'
import { OutboxRepository } from '../repositories/outbox_repo.ts'
import { ProcessedEventRepository } from '../repositories/processed_event_repo.ts'

const DAY_MS = 86_400_000

/** Tuning of the retention job; the defaults suit production. */
export interface EventRetentionOptions {
  /** How long published events and ledger lines are kept (days). */
  retentionDays: number
  /** Pause between two prunes (default 1 hour); the first runs one interval after start. */
  intervalMs?: number
  /** Rows deleted per statement (default 5,000), so no prune holds long locks. */
  batchSize?: number
}

/** What one prune deleted. */
export interface PruneResult {
  outboxEvents: number
  processedEvents: number
}

/**
 * The smallest UUID v7 of a millisecond: every id made at or after `time` sorts after it.
 * @param time the instant
 */
export function uuidV7Floor(time: Date): string {
  return uuidv7({ msecs: time.getTime(), random: new Uint8Array(16), seq: 0 })
}

/**
 * Keeps the event tables from growing without end: deletes published `outbox_events` and
 * `processed_events` lines older than the retention period, a batch at a time. Unpublished events are
 * kept however old they are. Safe with several API instances (rows are taken with SKIP LOCKED).
 */
export class EventRetention {
  readonly #outbox: OutboxRepository
  readonly #ledger: ProcessedEventRepository
  readonly #log: Logger
  readonly #options: Required<EventRetentionOptions>
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> | undefined
  #stopping = false

  /**
   * @param deps the database and logger
   * @param options retention period, interval and batch size
   */
  constructor(deps: { db: Database; log: Logger }, options: EventRetentionOptions) {
    this.#outbox = new OutboxRepository(deps.db)
    this.#ledger = new ProcessedEventRepository(deps.db)
    this.#log = deps.log
    this.#options = { intervalMs: 3_600_000, batchSize: 5_000, ...options }
  }

  /** Prunes every interval until {@link stop}; a failed prune is logged and tried again next time. */
  start(): void {
    if (this.#timer) return
    this.#stopping = false
    this.#timer = setInterval(() => {
      if (this.#running) return
      this.#running = this.pruneOnce()
        .catch((err) => this.#log.warn({ err }, 'event retention: prune failed, next try in an interval'))
        .finally(() => {
          this.#running = undefined
        })
    }, this.#options.intervalMs)
    this.#timer.unref()
  }

  /** Stops the timer and waits for a prune in progress (it ends after its current batch). */
  async stop(): Promise<void> {
    this.#stopping = true
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  /**
   * Deletes what is older than the retention period, as of `now`.
   * @param now the current time
   * @returns how many rows of each table were deleted
   */
  async pruneOnce(now = new Date()): Promise<PruneResult> {
    const before = uuidV7Floor(new Date(now.getTime() - this.#options.retentionDays * DAY_MS))
    const result = {
      outboxEvents: await this.#drain((limit) => this.#outbox.deletePublishedBefore(before, limit)),
      processedEvents: await this.#drain((limit) => this.#ledger.deleteBefore(before, limit)),
    }
    if (result.outboxEvents + result.processedEvents > 0) this.#log.info(result, 'event retention: pruned')
    return result
  }

  async #drain(deleteBatch: (limit: number) => Promise<number>): Promise<number> {
    const { batchSize } = this.#options
    let total = 0
    for (;;) {
      const deleted = await deleteBatch(batchSize)
      total += deleted
      if (deleted < batchSize || this.#stopping) return total
    }
  }
}
