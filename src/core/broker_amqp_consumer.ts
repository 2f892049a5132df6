import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import {
  type AsyncMessage,
  type Connection,
  type Consumer,
  ConsumerStatus,
  type Publisher,
} from 'rabbitmq-client'
import { withTimeout } from '../utils/helpers.ts'
import type { BrokerMessage, ConsumeOptions, MessageHandler, Subscription } from './broker.ts'
import {
  attemptOf,
  deadLetterQueueName,
  errorSummary,
  exchangeDeclaration,
  isFinalAttempt,
  NonRetryableError,
  ROUTING_KEY_HEADER,
  reroutedHeaders,
  retryDelayFor,
  retryQueueName,
} from './broker_common.ts'

/** What one AMQP consumer is asked to do. */
export interface AmqpConsumerSpec {
  exchange: string
  queue: string
  bindings: string[]
  handler: MessageHandler
  options: ConsumeOptions
  publishTimeoutMs: number
}

/** Pause before a message whose retry could not be scheduled goes back to its queue (no hot loop). */
const REQUEUE_PAUSE_MS = 1_000

/**
 * The queues beside a consumed queue: one retry queue per back-off (its TTL dead-letters the
 * message back to the consumed queue through the default exchange, so only that queue sees it
 * again), and the dead-letter queue.
 */
function sideQueues(queue: string, options: ConsumeOptions) {
  const delays = [...new Set(options.retryDelaysMs)]
  return [
    ...delays.map((delay) => ({
      queue: retryQueueName(queue, delay),
      durable: true,
      arguments: {
        'x-message-ttl': delay,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': queue,
      },
    })),
    { queue: deadLetterQueueName(queue), durable: true },
  ]
}

/** The body as it was published: JSON bodies are parsed by the client, anything else stays bytes. */
function parseBody(body: unknown): unknown {
  if (!Buffer.isBuffer(body)) return body
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw new NonRetryableError('message body is not JSON')
  }
}

function rawBody(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))
}

/** Runs the handler on each delivery and routes failures to a retry queue or the DLQ. */
class AmqpConsumer {
  readonly #spec: AmqpConsumerSpec
  readonly #log: Logger
  readonly #sidePublisher: Publisher

  constructor(connection: Connection, log: Logger, spec: AmqpConsumerSpec) {
    this.#spec = spec
    this.#log = log.child({ queue: spec.queue })
    // Its `queues` are declared before its first publish and again on every new channel.
    this.#sidePublisher = connection.createPublisher({
      confirm: true,
      queues: sideQueues(spec.queue, spec.options),
    })
  }

  get sidePublisher(): Publisher {
    return this.#sidePublisher
  }

  async onMessage(delivery: AsyncMessage): Promise<ConsumerStatus> {
    const headers: Record<string, unknown> = { ...delivery.headers }
    const originalKey = headers[ROUTING_KEY_HEADER]
    const message: BrokerMessage = {
      messageId: delivery.messageId ?? '',
      routingKey: typeof originalKey === 'string' ? originalKey : delivery.routingKey,
      body: delivery.body,
      headers,
      attempt: attemptOf(headers),
    }
    try {
      message.body = parseBody(delivery.body)
      await this.#spec.handler(message)
      return ConsumerStatus.ACK
    } catch (error) {
      return this.#reroute(delivery, message, error)
    }
  }

  /** Sends a failed message on (retry queue or DLQ) with a confirm, then acks the original. */
  async #reroute(delivery: AsyncMessage, message: BrokerMessage, error: unknown): Promise<ConsumerStatus> {
    const { queue, options } = this.#spec
    const final = isFinalAttempt(options, message.attempt, error)
    const target = final
      ? deadLetterQueueName(queue)
      : retryQueueName(queue, retryDelayFor(options, message.attempt))
    const attempt = final ? message.attempt : message.attempt + 1
    const envelope = {
      exchange: '',
      routingKey: target,
      messageId: delivery.messageId,
      durable: true,
      contentType: delivery.contentType ?? 'application/json',
      headers: reroutedHeaders(message.headers, message.routingKey, attempt, error),
    }
    const context = { err: error, messageId: message.messageId, attempt: message.attempt, target }
    try {
      await withTimeout(
        this.#sidePublisher.send(envelope, rawBody(delivery.body)),
        this.#spec.publishTimeoutMs,
        'broker reroute confirm',
      )
    } catch (publishError) {
      this.#log.error(
        { ...context, err: publishError, handlerError: errorSummary(error) },
        'could not reroute a failed message: requeueing it',
      )
      await sleep(REQUEUE_PAUSE_MS)
      return ConsumerStatus.REQUEUE
    }
    if (final) this.#log.error(context, 'message dead-lettered after its last attempt')
    else this.#log.warn(context, 'message handling failed: retry scheduled')
    return ConsumerStatus.ACK
  }
}

/**
 * Starts a self-recovering consumer: it declares the exchange, the queue, its bindings, its retry
 * queues and DLQ, sets the prefetch, and does all of that again after every reconnect.
 *
 * @param connection the AMQP connection
 * @param log the root logger
 * @param spec the queue, bindings, handler and options
 * @returns the subscription, and the underlying consumer (for its `ready` event)
 */
export function startAmqpConsumer(
  connection: Connection,
  log: Logger,
  spec: AmqpConsumerSpec,
): { subscription: Subscription; consumer: Consumer } {
  const { exchange, queue, options } = spec
  const worker = new AmqpConsumer(connection, log, spec)
  const consumer = connection.createConsumer(
    {
      queue,
      queueOptions: { durable: true },
      exchanges: [exchangeDeclaration(exchange)],
      queueBindings: spec.bindings.map((routingKey) => ({ queue, exchange, routingKey })),
      qos: { prefetchCount: options.prefetch },
      concurrency: options.prefetch,
      requeue: true,
    },
    (delivery) => worker.onMessage(delivery),
  )
  consumer.on('error', (err) => log.warn({ err, queue }, 'broker consumer error'))
  consumer.on('ready', () => {
    // Declare the retry queues and DLQ now rather than at the first failure, so they are visible.
    for (const params of sideQueues(queue, options)) {
      connection
        .queueDeclare(params)
        .catch((err) => log.warn({ err, queue }, 'side queue declaration failed'))
    }
  })
  const subscription: Subscription = {
    async close() {
      await consumer.close()
      await worker.sidePublisher.close().catch(() => {})
    },
  }
  return { subscription, consumer }
}
