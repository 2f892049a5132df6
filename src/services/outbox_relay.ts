import type { Logger } from 'pino'
import type { Broker } from '../core/broker.ts'
import { errorSummary } from '../core/broker_common.ts'
import type { Database } from '../core/database.ts'
import { OutboxRepository } from '../repositories/outbox_repo.ts'
import { toEventMessage } from './outbox.ts'

/** Tuning of the relay; the defaults suit production. */
export interface OutboxRelayOptions {
  /** Events locked and published per transaction (default 200). */
  batchSize?: number
  /** Polling fallback when nobody calls `wake()` (default 1 s). */
  pollIntervalMs?: number
  /** First pause after a failed batch; doubles on each failure in a row (default 500 ms). */
  minBackoffMs?: number
  /** Longest pause while the broker or the database is down (default 30 s). */
  maxBackoffMs?: number
}

/** What the relay needs. */
export interface OutboxRelayDeps {
  db: Database
  broker: Broker
  log: Logger
}

/** The outcome of one batch. */
export interface RelayBatchResult {
  published: number
  failed: number
}

/**
 * Publishes the outbox: unpublished events in `(occurred_at, id)` order, each confirmed by the broker
 * before it is marked published. Safe with several instances (rows are locked with SKIP LOCKED).
 */
export class OutboxRelay {
  readonly #deps: OutboxRelayDeps
  readonly #repo: OutboxRepository
  readonly #options: Required<OutboxRelayOptions>
  #loop: Promise<void> | undefined
  #stopping = false
  #wakePending = false
  /** Ends the current pause early; set while the loop sleeps. */
  #interrupt: ((byWake: boolean) => void) | undefined

  /**
   * @param deps the database, broker and logger
   * @param options batch size, polling and back-off
   */
  constructor(deps: OutboxRelayDeps, options: OutboxRelayOptions = {}) {
    this.#deps = deps
    this.#repo = new OutboxRepository(deps.db)
    this.#options = {
      batchSize: 200,
      pollIntervalMs: 1_000,
      minBackoffMs: 500,
      maxBackoffMs: 30_000,
      ...options,
    }
  }

  /** Starts the background loop (once). */
  start(): void {
    if (this.#loop) return
    this.#stopping = false
    this.#loop = this.#run()
  }

  /** Publishes soon: call it after committing a transaction that recorded events. Ignored while backing off. */
  wake(): void {
    this.#wakePending = true
    this.#interrupt?.(true)
  }

  /** Stops the loop after the batch in flight, if any, is published and marked. */
  async stop(): Promise<void> {
    this.#stopping = true
    this.#interrupt?.(false)
    await this.#loop
    this.#loop = undefined
  }

  /**
   * Publishes one batch in one transaction. Publishes go out back to back on one channel (their order
   * is kept) and are confirmed together; only confirmed events are marked published.
   * @returns how many events were published and how many failed
   * @throws the first publish error when any publish failed (the confirmed ones stay marked)
   */
  async relayBatch(): Promise<RelayBatchResult> {
    const { db, broker } = this.#deps
    const outcome = await db.transaction(async (tx) => {
      const events = await this.#repo.lockUnpublished(this.#options.batchSize, tx)
      const results = await Promise.allSettled(
        events.map((event) => broker.publish(event.type, toEventMessage(event), { messageId: event.id })),
      )
      const published = events.filter((_, i) => results[i]?.status === 'fulfilled').map((e) => e.id)
      const failed = events.filter((_, i) => results[i]?.status === 'rejected').map((e) => e.id)
      const error = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason
      await this.#repo.markPublished(published, tx)
      await this.#repo.markFailed(failed, errorSummary(error?.cause ?? error), tx)
      return { published: published.length, failed: failed.length, error }
    })
    if (outcome.failed > 0) throw outcome.error
    return { published: outcome.published, failed: 0 }
  }

  async #run(): Promise<void> {
    const { log } = this.#deps
    let failures = 0
    while (!this.#stopping) {
      this.#wakePending = false
      let result: RelayBatchResult
      try {
        result = await this.relayBatch()
      } catch (error) {
        failures++
        const delay = Math.min(this.#options.minBackoffMs * 2 ** (failures - 1), this.#options.maxBackoffMs)
        log.warn({ err: error, failures, retryInMs: delay }, 'outbox relay: publishing failed, backing off')
        await this.#pause(delay, false)
        continue
      }
      if (failures > 0) log.info({ failures }, 'outbox relay: publishing again')
      failures = 0
      if (result.published > 0) log.debug({ published: result.published }, 'outbox relay: batch published')
      // A full batch means more may be waiting; a wake during the batch means a new commit.
      if (result.published < this.#options.batchSize && !this.#wakePending) {
        await this.#pause(this.#options.pollIntervalMs, true)
      }
    }
  }

  /** Sleeps `ms`; `stop()` always ends it early, `wake()` only when `wakeable`. */
  #pause(ms: number, wakeable: boolean): Promise<void> {
    if (this.#stopping) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#interrupt = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#interrupt = (byWake) => {
        if (!byWake || wakeable) done()
      }
    })
  }
}

/**
 * Creates the outbox relay; `start()` it in the API process and `stop()` it at shutdown.
 * @param deps the database, broker and logger
 * @param options batch size, polling and back-off
 */
export function createOutboxRelay(deps: OutboxRelayDeps, options?: OutboxRelayOptions): OutboxRelay {
  return new OutboxRelay(deps, options)
}
