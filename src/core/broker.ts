import type { Logger } from 'pino'
import { type AmqpConnectionTuning, createAmqpBroker } from './broker_amqp.ts'
import { createMemoryBroker } from './broker_memory.ts'
import type { Settings } from './config.ts'
import type { StoreMode } from './database.ts'

export {
  ATTEMPT_HEADER,
  DEFAULT_CONSUME_OPTIONS,
  LAST_ERROR_HEADER,
  NonRetryableError,
  ROUTING_KEY_HEADER,
} from './broker_common.ts'

/** The topic exchange every event is published to (API.md "Events"). */
export const DEFAULT_EXCHANGE = 'app.events'

/** Options of one publish. */
export interface PublishOptions {
  /** The message id (the event id): consumers deduplicate on it. */
  messageId: string
  headers?: Record<string, string | number | boolean>
}

/** A message as a consumer's handler receives it. */
export interface BrokerMessage {
  messageId: string
  /** The routing key it was first published with (kept across retries). */
  routingKey: string
  /** The parsed JSON body. */
  body: unknown
  headers: Record<string, unknown>
  /** 1 on the first delivery, then one more for each pass through the retry path. */
  attempt: number
}

/** Processes one message: resolving acks it, throwing sends it to the retry path. */
export type MessageHandler = (message: BrokerMessage) => Promise<void>

/** How a queue is consumed. */
export interface ConsumeOptions {
  /** Messages delivered and processed at once (AMQP `basic.qos` prefetch). */
  prefetch: number
  /** Deliveries before a failing message is parked in `<queue>.dlq`. */
  maxAttempts: number
  /** Back-off before retry n (the last value repeats). Each delay gets its own retry queue. */
  retryDelaysMs: number[]
}

/** A running consumer. */
export interface Subscription {
  /** Stops taking messages, waits for the ones in flight to finish and be acknowledged. */
  close(): Promise<void>
}

/**
 * The message broker port: a durable topic exchange, durable queues with manual acks, retries with
 * back-off that never hold up the messages behind a failing one, and a dead-letter queue per queue.
 */
export interface Broker {
  readonly mode: StoreMode
  /** The topic exchange messages are published to. */
  readonly exchange: string
  /**
   * Publishes a persistent JSON message; resolves once the broker confirmed it.
   * @param routingKey the routing key (the event type)
   * @param message the body, serialised as JSON
   * @param options the message id and extra headers
   * @throws {DependencyException} when the broker is unreachable or refuses the message
   */
  publish(routingKey: string, message: object, options: PublishOptions): Promise<void>
  /**
   * Declares `queue` (plus its retry queues and `<queue>.dlq`), binds it to the exchange with
   * `bindings` and consumes it. Topology is declared again after every reconnect.
   * @param queue the queue name
   * @param bindings topic patterns bound to the exchange (may be empty)
   * @param handler the message handler
   * @param options prefetch, attempts and back-off
   */
  consume(
    queue: string,
    bindings: string[],
    handler: MessageHandler,
    options?: Partial<ConsumeOptions>,
  ): Promise<Subscription>
  /**
   * Declares a durable queue bound to the exchange, without consuming it: the publishing side calls
   * it so events published before any consumer ever started are kept, not dropped as unroutable.
   * @param queue the queue name, as its consumer will use it
   * @param bindings topic patterns bound to the exchange
   * @throws {DependencyException} when the broker is unreachable
   */
  declareQueue(queue: string, bindings: string[]): Promise<void>
  /** @throws {DependencyException} when the broker does not answer within `timeoutMs` */
  ping(timeoutMs: number): Promise<void>
  /** Stops every consumer (in-flight messages finish), then disconnects. */
  close(): Promise<void>
}

/** Options of {@link createBroker}, mostly for tests. */
export interface BrokerOptions {
  /** The topic exchange (defaults to {@link DEFAULT_EXCHANGE}). */
  exchange?: string
  /** Longest wait for a publisher confirm (default 10 s). */
  publishTimeoutMs?: number
  /** Reconnection tuning of the AMQP connection. */
  connection?: AmqpConnectionTuning
}

/**
 * Creates the broker port: RabbitMQ when `RABBITMQ_URL` is set, else the in-process broker (whose
 * consumers must then run in the same process as the publisher).
 *
 * @param settings the process settings
 * @param log the root logger
 * @param options exchange name and tuning
 * @returns the broker; call `close()` at shutdown
 */
export function createBroker(
  settings: Pick<Settings, 'rabbitmqUrl'>,
  log: Logger,
  options: BrokerOptions = {},
): Broker {
  const exchange = options.exchange ?? DEFAULT_EXCHANGE
  if (settings.rabbitmqUrl) {
    return createAmqpBroker(settings.rabbitmqUrl, log, { ...options, exchange })
  }
  return createMemoryBroker(log, { exchange })
}
