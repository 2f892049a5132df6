import type { Logger } from 'pino'
import { DependencyException } from '../exceptions.ts'
import type {
  Broker,
  BrokerMessage,
  ConsumeOptions,
  MessageHandler,
  PublishOptions,
  Subscription,
} from './broker.ts'
import {
  deadLetterQueueName,
  isFinalAttempt,
  reroutedHeaders,
  resolveConsumeOptions,
  retryDelayFor,
} from './broker_common.ts'

/**
 * Whether an AMQP topic pattern matches a routing key: `*` stands for one word, `#` for zero or more.
 * @param pattern the binding pattern, e.g. `user.*`
 * @param key the routing key, e.g. `user.registered`
 */
export function topicMatches(pattern: string, key: string): boolean {
  const p = pattern.split('.')
  const k = key.split('.')
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length
    if (p[i] === '#') return match(i + 1, j) || (j < k.length && match(i, j + 1))
    return j < k.length && (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1)
  }
  return match(0, 0)
}

/** A queue of the in-process broker: its bindings, its waiting messages and who consumes it. */
class MemoryQueue {
  readonly bindings = new Set<string>()
  readonly messages: BrokerMessage[] = []
  readonly listeners = new Set<() => void>()

  push(message: BrokerMessage): void {
    this.messages.push(message)
    // Delivery is always asynchronous: a publisher never runs a handler on its own stack.
    for (const listener of this.listeners) setImmediate(listener)
  }
}

/** One consumer of a memory queue: up to `prefetch` handlers at once, failures retried or parked. */
class MemoryConsumer implements Subscription {
  readonly #queue: MemoryQueue
  readonly #handler: MessageHandler
  readonly #options: ConsumeOptions
  readonly #reroute: (message: BrokerMessage, error: unknown) => void
  readonly #inFlight = new Set<Promise<void>>()
  readonly #pump = () => this.#fill()
  #closed = false

  constructor(
    queue: MemoryQueue,
    handler: MessageHandler,
    options: ConsumeOptions,
    reroute: (message: BrokerMessage, error: unknown) => void,
  ) {
    this.#queue = queue
    this.#handler = handler
    this.#options = options
    this.#reroute = reroute
    queue.listeners.add(this.#pump)
    setImmediate(this.#pump)
  }

  #fill(): void {
    while (!this.#closed && this.#inFlight.size < this.#options.prefetch && this.#queue.messages.length > 0) {
      const message = this.#queue.messages.shift() as BrokerMessage
      const run = this.#handle(message).finally(() => {
        this.#inFlight.delete(run)
        this.#fill()
      })
      this.#inFlight.add(run)
    }
  }

  async #handle(message: BrokerMessage): Promise<void> {
    try {
      // Each delivery gets its own copy, as if it had been decoded from the wire.
      await this.#handler({
        ...message,
        body: structuredClone(message.body),
        headers: { ...message.headers },
      })
    } catch (error) {
      this.#reroute(message, error)
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#queue.listeners.delete(this.#pump)
    await Promise.allSettled([...this.#inFlight])
  }
}

/**
 * The in-process broker: the same semantics as the RabbitMQ adapter (topic bindings, prefetch,
 * retries with back-off that never block the messages behind, `<queue>.dlq`) for embedded mode.
 * Messages live in memory: they do not survive the process.
 */
export class MemoryBroker implements Broker {
  readonly mode = 'embedded' as const
  readonly exchange: string
  readonly #log: Logger
  readonly #queues = new Map<string, MemoryQueue>()
  readonly #consumers = new Set<MemoryConsumer>()
  readonly #timers = new Set<NodeJS.Timeout>()
  #closed = false

  /**
   * @param log the root logger
   * @param exchange the name reported as the exchange
   */
  constructor(log: Logger, exchange: string) {
    this.#log = log
    this.exchange = exchange
  }

  async publish(routingKey: string, message: object, options: PublishOptions): Promise<void> {
    if (this.#closed) throw new DependencyException('broker', new Error('broker is closed'))
    const body = JSON.parse(JSON.stringify(message)) as unknown
    for (const queue of this.#queues.values()) {
      if ([...queue.bindings].some((pattern) => topicMatches(pattern, routingKey))) {
        queue.push({
          messageId: options.messageId,
          routingKey,
          body,
          headers: { ...options.headers },
          attempt: 1,
        })
      }
    }
  }

  async consume(
    queue: string,
    bindings: string[],
    handler: MessageHandler,
    options?: Partial<ConsumeOptions>,
  ): Promise<Subscription> {
    if (this.#closed) throw new DependencyException('broker', new Error('broker is closed'))
    const resolved = resolveConsumeOptions(options)
    const target = this.#queue(queue)
    for (const binding of bindings) target.bindings.add(binding)
    const consumer = new MemoryConsumer(target, handler, resolved, (message, error) =>
      this.#reroute(queue, resolved, message, error),
    )
    this.#consumers.add(consumer)
    return {
      close: async () => {
        this.#consumers.delete(consumer)
        await consumer.close()
      },
    }
  }

  /**
   * The messages parked in the dead-letter queue of `queue`, oldest first (not yet consumed).
   * @param queue the consumed queue
   */
  deadLetters(queue: string): BrokerMessage[] {
    return [...(this.#queues.get(deadLetterQueueName(queue))?.messages ?? [])]
  }

  /** In process, consumers run beside the publisher and create their queues; nothing to keep. */
  async declareQueue(): Promise<void> {}

  async ping(): Promise<void> {
    if (this.#closed) throw new DependencyException('broker', new Error('broker is closed'))
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.all([...this.#consumers].map((c) => c.close()))
    this.#consumers.clear()
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
  }

  #queue(name: string): MemoryQueue {
    let queue = this.#queues.get(name)
    if (!queue) {
      queue = new MemoryQueue()
      this.#queues.set(name, queue)
    }
    return queue
  }

  #reroute(queue: string, options: ConsumeOptions, message: BrokerMessage, error: unknown): void {
    const final = isFinalAttempt(options, message.attempt, error)
    const attempt = final ? message.attempt : message.attempt + 1
    const next = {
      ...message,
      attempt,
      headers: reroutedHeaders(message.headers, message.routingKey, attempt, error),
    }
    const context = { err: error, queue, messageId: message.messageId, attempt: message.attempt }
    if (final) {
      this.#log.error(context, 'message dead-lettered after its last attempt')
      this.#queue(deadLetterQueueName(queue)).push(next)
      return
    }
    this.#log.warn(context, 'message handling failed: retry scheduled')
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer)
        if (!this.#closed) this.#queue(queue).push(next)
      },
      retryDelayFor(options, message.attempt),
    )
    timer.unref()
    this.#timers.add(timer)
  }
}

/**
 * Creates the in-process broker.
 * @param log the root logger
 * @param options the exchange name it reports
 */
export function createMemoryBroker(log: Logger, options: { exchange: string }): MemoryBroker {
  return new MemoryBroker(log, options.exchange)
}
