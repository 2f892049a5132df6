import { once } from 'node:events'
import type { Logger } from 'pino'
import { Connection, type ConnectionOptions, type Publisher } from 'rabbitmq-client'
import { DependencyException } from '../exceptions.ts'
import { withTimeout } from '../utils/helpers.ts'
import type { Broker, ConsumeOptions, MessageHandler, PublishOptions, Subscription } from './broker.ts'
import { startAmqpConsumer } from './broker_amqp_consumer.ts'
import { exchangeDeclaration, resolveConsumeOptions } from './broker_common.ts'

/** Reconnection tuning of the AMQP connection (see rabbitmq-client's `ConnectionOptions`). */
export type AmqpConnectionTuning = Pick<
  ConnectionOptions,
  'retryLow' | 'retryHigh' | 'acquireTimeout' | 'connectionTimeout' | 'heartbeat'
>

/** Options of {@link createAmqpBroker}. */
export interface AmqpBrokerOptions {
  exchange: string
  /** Longest wait for a publisher confirm (default 10 s). */
  publishTimeoutMs?: number
  connection?: AmqpConnectionTuning
}

/** How long `consume()` waits for its queue to be declared and bound before returning anyway. */
const CONSUMER_READY_WAIT_MS = 5_000

/** The RabbitMQ adapter of the broker port, on a self-reconnecting rabbitmq-client connection. */
class AmqpBroker implements Broker {
  readonly mode = 'external' as const
  readonly exchange: string
  readonly #connection: Connection
  readonly #publisher: Publisher
  readonly #log: Logger
  readonly #publishTimeoutMs: number
  readonly #subscriptions = new Set<Subscription>()

  constructor(url: string, log: Logger, options: AmqpBrokerOptions) {
    this.exchange = options.exchange
    this.#log = log
    this.#publishTimeoutMs = options.publishTimeoutMs ?? 10_000
    this.#connection = new Connection({
      url,
      connectionName: 'folio',
      retryLow: 500,
      retryHigh: 10_000,
      acquireTimeout: 5_000,
      connectionTimeout: 5_000,
      heartbeat: 30,
      ...options.connection,
    })
    // Without listeners these events would crash the process; the client reconnects by itself.
    this.#connection.on('error', (err) => log.warn({ err }, 'broker connection error'))
    this.#connection.on('connection', () => log.info('broker connected'))
    this.#publisher = this.#connection.createPublisher({
      confirm: true,
      exchanges: [exchangeDeclaration(this.exchange)],
    })
  }

  async publish(routingKey: string, message: object, options: PublishOptions): Promise<void> {
    const envelope = {
      exchange: this.exchange,
      routingKey,
      messageId: options.messageId,
      headers: options.headers,
      durable: true,
      contentType: 'application/json',
    }
    try {
      const sent = this.#publisher.send(envelope, Buffer.from(JSON.stringify(message)))
      await withTimeout(sent, this.#publishTimeoutMs, 'broker publish confirm')
    } catch (error) {
      throw new DependencyException('broker', error)
    }
  }

  async consume(
    queue: string,
    bindings: string[],
    handler: MessageHandler,
    options?: Partial<ConsumeOptions>,
  ): Promise<Subscription> {
    const { subscription, consumer } = startAmqpConsumer(this.#connection, this.#log, {
      exchange: this.exchange,
      queue,
      bindings,
      handler,
      options: resolveConsumeOptions(options),
      publishTimeoutMs: this.#publishTimeoutMs,
    })
    const tracked: Subscription = {
      close: async () => {
        this.#subscriptions.delete(tracked)
        await subscription.close()
      },
    }
    this.#subscriptions.add(tracked)
    // Return once the queue is bound, so what is published next reaches it; if the broker is down,
    // return anyway: the consumer attaches by itself when the broker is back.
    const ready = once(consumer, 'ready', { signal: AbortSignal.timeout(CONSUMER_READY_WAIT_MS) })
    await ready.catch(() =>
      this.#log.warn({ queue }, 'consumer not ready yet: it attaches when the broker is up'),
    )
    return tracked
  }

  async declareQueue(queue: string, bindings: string[]): Promise<void> {
    try {
      await withTimeout(
        (async () => {
          await this.#connection.exchangeDeclare(exchangeDeclaration(this.exchange))
          // The same arguments as the consumer's declaration, so the two never conflict.
          await this.#connection.queueDeclare({ queue, durable: true })
          for (const routingKey of bindings) {
            await this.#connection.queueBind({ queue, exchange: this.exchange, routingKey })
          }
        })(),
        this.#publishTimeoutMs,
        'broker queue declaration',
      )
    } catch (error) {
      throw new DependencyException('broker', error)
    }
  }

  async ping(timeoutMs: number): Promise<void> {
    try {
      if (!this.#connection.ready) throw new Error('not connected')
      // A real round trip, and an idempotent one: the exchange exists with these exact arguments.
      await withTimeout(
        this.#connection.exchangeDeclare(exchangeDeclaration(this.exchange)),
        timeoutMs,
        'broker ping',
      )
    } catch (error) {
      throw new DependencyException('broker', error)
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()))
    await this.#publisher.close().catch(() => {})
    await this.#connection.close()
  }
}

/**
 * Creates the RabbitMQ broker. The connection is opened in the background and re-opened after any
 * loss; the publisher and every consumer declare their topology again on each new channel.
 *
 * @param url the `amqp://` URL
 * @param log the root logger
 * @param options exchange and tuning
 */
export function createAmqpBroker(url: string, log: Logger, options: AmqpBrokerOptions): Broker {
  return new AmqpBroker(url, log, options)
}
