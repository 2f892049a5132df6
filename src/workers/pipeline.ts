import type { Logger } from 'pino'
import type { Broker, Subscription } from '../core/broker.ts'
import type { DatabaseHandle } from '../core/database.ts'
import { EventRetention, type EventRetentionOptions } from '../services/event_retention.ts'
import { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from '../services/outbox_relay.ts'
import { type ConsumerOptions, startConsumers } from './consumer.ts'
import type { HandlerRegistry } from './registry.ts'

/** What the event pipeline runs on. */
export interface EventPipelineDeps {
  database: Pick<DatabaseHandle, 'db'>
  broker: Broker
  log: Logger
  registry: HandlerRegistry
}

/** Which halves of the pipeline run in this process. */
export interface EventPipelineOptions {
  /** Run the outbox relay (the API process does; default true). Options tune it. */
  relay?: boolean | OutboxRelayOptions
  /** Run the consumers (the worker does, and the API with the in-process broker; default true). */
  consume?: boolean
  consumer?: ConsumerOptions
  /** Prune old published events and ledger lines (alongside the relay; default off). */
  retention?: EventRetentionOptions
}

/** A running event pipeline. */
export interface EventPipeline {
  /** The relay, when this process runs it: call `relay.wake()` after committing events. */
  relay: OutboxRelay | undefined
  subscriptions: Subscription[]
  /** Publishes soon (no-op without a relay). */
  wake(): void
  /** Stops the relay (its batch in flight completes), then the consumers (their messages are acked). */
  stop(): Promise<void>
}

/**
 * Starts the event pipeline: consumers first (so with the in-process broker their queues exist before
 * anything is published), then the outbox relay and, when asked, the retention job beside it.
 *
 * @param deps the database, broker, logger and handler registry
 * @param options which halves to run, and their tuning
 * @returns the running pipeline; `stop()` it before closing the broker and the database
 */
export async function startEventPipeline(
  deps: EventPipelineDeps,
  options: EventPipelineOptions = {},
): Promise<EventPipeline> {
  const { database, broker, log, registry } = deps
  const subscriptions =
    options.consume === false
      ? []
      : await startConsumers({ db: database.db, broker, registry, log }, options.consumer)
  let relay: OutboxRelay | undefined
  let retention: EventRetention | undefined
  if (options.relay !== false) {
    relay = createOutboxRelay({ db: database.db, broker, log }, options.relay === true ? {} : options.relay)
    relay.start()
    if (options.retention) {
      retention = new EventRetention({ db: database.db, log }, options.retention)
      retention.start()
    }
  }
  return {
    relay,
    subscriptions,
    wake: () => relay?.wake(),
    async stop() {
      await Promise.all([relay?.stop(), retention?.stop()])
      await Promise.all(subscriptions.map((s) => s.close()))
    },
  }
}
