import type DataLoader from 'dataloader'
import type { FastifyBaseLogger } from 'fastify'
import type { Logger } from 'pino'
import type { Broker, BrokerMessage, ConsumeOptions, Subscription } from '../core/broker.ts'
import { errorSummary } from '../core/broker_common.ts'
import type { Database } from '../core/database.ts'
import { requestContext } from '../core/logging.ts'
import {
  type ClaimOutcome,
  type LedgerKey,
  ProcessedEventRepository,
} from '../repositories/processed_event_repo.ts'
import { type EventMessage, parseEventMessage } from '../services/outbox.ts'
import { perTurnBatch } from '../utils/helpers.ts'
import type { EventHandler, HandlerRegistry } from './registry.ts'

/** What the consumers need. */
export interface ConsumerDeps {
  db: Database
  broker: Broker
  registry: HandlerRegistry
  log: Logger
}

/** Tuning of the consumers. */
export interface ConsumerOptions extends Partial<ConsumeOptions> {
  /** Queues are named `<queuePrefix>.<group>` (default `folio.worker`). */
  queuePrefix?: string
  /** How long a handler's claim on an event holds before another worker may take over (default 2 min). */
  leaseMs?: number
}

/** The default queue name prefix. */
export const DEFAULT_QUEUE_PREFIX = 'folio.worker'
const DEFAULT_LEASE_MS = 120_000

/** Thrown when another delivery of the same event is being handled right now: retried later. */
export class EventBusyError extends Error {
  /** @param message which handler and event */
  constructor(message: string) {
    super(message)
    this.name = 'EventBusyError'
  }
}

/** Most ledger lines written by one statement (claims and completions are batched per turn). */
const MAX_LEDGER_BATCH = 500

/**
 * Runs every handler of a group for one delivered event, inside a request context carrying the
 * event's request ID (so every log line of the handlers has it), each handler at most once per event.
 */
export class EventDispatcher {
  readonly #deps: ConsumerDeps
  readonly #ledger: ProcessedEventRepository
  /** Claims and completions made while one batch of deliveries is handled go out as one statement each. */
  readonly #claims: DataLoader<LedgerKey, ClaimOutcome>
  readonly #completions: DataLoader<LedgerKey, void>

  /**
   * @param deps the database, registry and logger
   * @param leaseMs how long a claim holds
   */
  constructor(deps: ConsumerDeps, leaseMs = DEFAULT_LEASE_MS) {
    this.#deps = deps
    const ledger = new ProcessedEventRepository(deps.db)
    this.#ledger = ledger
    this.#claims = perTurnBatch(
      (keys: readonly LedgerKey[]) => ledger.claimMany(keys, leaseMs),
      MAX_LEDGER_BATCH,
    )
    this.#completions = perTurnBatch(async (keys: readonly LedgerKey[]) => {
      await ledger.completeMany(keys)
      return keys.map(() => undefined)
    }, MAX_LEDGER_BATCH)
  }

  /**
   * Handles one delivery for `group`.
   * @throws {NonRetryableError} when the message is not an event; any handler error otherwise
   */
  async dispatch(group: string, message: BrokerMessage): Promise<void> {
    const event = parseEventMessage(message.body)
    const requestId = event.request_id ?? event.id
    const log = this.#deps.log.child({ request_id: requestId, event_id: event.id, event_type: event.type })
    await requestContext.run({ requestId, log }, async () => {
      const handlers = this.#deps.registry.handlersFor(group, event.type)
      if (handlers.length === 0) log.debug({ group }, 'no handler for this event type')
      for (const handler of handlers) await this.#runOnce(handler, event, message.attempt, log)
    })
  }

  async #runOnce(handler: EventHandler, event: EventMessage, attempt: number, log: FastifyBaseLogger) {
    const key = { eventId: event.id, handler: handler.name }
    const claim = await this.#claims.load(key)
    if (claim === 'done') {
      log.info({ handler: handler.name }, 'event already handled: skipped')
      return
    }
    if (claim === 'busy') throw new EventBusyError(`${handler.name} is handling event ${event.id} elsewhere`)
    const started = performance.now()
    try {
      await handler.handle(event, { log, attempt })
    } catch (error) {
      await this.#ledger.release(event.id, handler.name, errorSummary(error)).catch((releaseError) => {
        log.warn({ err: releaseError }, 'could not release a failed claim: it expires with its lease')
      })
      throw error
    }
    await this.#completions.load(key)
    log.info({ handler: handler.name, attempt, ms: Math.round(performance.now() - started) }, 'event handled')
  }
}

/**
 * Starts one consumer per handler group: queue `<prefix>.<group>` bound to the group's event types.
 * @param deps the database, broker, registry and logger
 * @param options queue prefix, lease, prefetch, attempts and back-off
 * @returns the subscriptions; close them to stop consuming
 */
export async function startConsumers(
  deps: ConsumerDeps,
  options: ConsumerOptions = {},
): Promise<Subscription[]> {
  const { queuePrefix = DEFAULT_QUEUE_PREFIX, leaseMs, ...consumeOptions } = options
  const dispatcher = new EventDispatcher(deps, leaseMs)
  const subscriptions: Subscription[] = []
  for (const group of deps.registry.groups()) {
    const queue = `${queuePrefix}.${group}`
    const types = deps.registry.typesOf(group)
    const handle = (message: BrokerMessage) => dispatcher.dispatch(group, message)
    subscriptions.push(await deps.broker.consume(queue, types, handle, consumeOptions))
    deps.log.info({ queue, types }, 'consuming events')
  }
  return subscriptions
}
