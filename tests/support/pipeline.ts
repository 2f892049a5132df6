import type pino from 'pino'
import { v7 as uuidv7 } from 'uuid'
import type { Broker, BrokerMessage } from '../../src/core/broker.ts'
import { createBroker } from '../../src/core/broker.ts'
import type { EventType } from '../../src/services/events.ts'
import type { EventMessage } from '../../src/services/outbox.ts'
import type { ConsumerOptions } from '../../src/workers/consumer.ts'
import { deleteAmqpTopology, FAST_RECONNECT, queueFamily, uniqueName } from './events.ts'

/** Consumer options for tests: short back-off, three attempts, a unique queue prefix. */
export function fastConsumerOptions(
  overrides: ConsumerOptions = {},
): Required<Omit<ConsumerOptions, 'leaseMs'>> & ConsumerOptions {
  return {
    queuePrefix: uniqueName('test.worker'),
    prefetch: 4,
    maxAttempts: 3,
    retryDelaysMs: [100],
    ...overrides,
  }
}

/**
 * An event message as the relay would publish it.
 * @param type the event type
 * @param data its data
 * @param requestId the request ID it carries
 */
export function eventMessage(
  type: EventType,
  data: Record<string, unknown>,
  requestId = 'req-test',
): EventMessage {
  return { id: uuidv7(), type, occurred_at: new Date().toISOString(), request_id: requestId, data }
}

/**
 * Publishes an event message directly (bypassing the outbox), e.g. to play a redelivery.
 * @param broker the broker
 * @param event the message
 */
export function publishEvent(broker: Broker, event: EventMessage): Promise<void> {
  return broker.publish(event.type, event, { messageId: event.id })
}

/** Back-off of the test consumer reading a DLQ (it never fails, but the option names its retry queue). */
const DLQ_READER_DELAYS = [100]

/** A broker of one test, and what to remove once it is done. */
export interface TestBroker {
  broker: Broker
  /** Registers the queues of a consumer group for removal. */
  track(queue: string, delays: number[]): void
  /** Consumes the DLQ of `queue` into an array. */
  deadLetters(queue: string): Promise<BrokerMessage[]>
  close(): Promise<void>
}

/**
 * Creates a broker for one test: in-process, or on RabbitMQ with a unique exchange.
 * @param url the RabbitMQ URL, or undefined for the in-process broker
 * @param log the logger
 */
export function testBroker(url: string | undefined, log: pino.Logger): TestBroker {
  const exchange = uniqueName('test.events')
  const broker = createBroker({ rabbitmqUrl: url }, log, { exchange, connection: FAST_RECONNECT })
  const queues: string[] = []
  return {
    broker,
    track(queue, delays) {
      queues.push(...queueFamily(queue, delays), ...queueFamily(`${queue}.dlq`, DLQ_READER_DELAYS))
    },
    async deadLetters(queue) {
      const parked: BrokerMessage[] = []
      await broker.consume(`${queue}.dlq`, [], async (m) => void parked.push(m), {
        retryDelaysMs: DLQ_READER_DELAYS,
      })
      return parked
    },
    async close() {
      await broker.close()
      if (url) await deleteAmqpTopology([exchange], queues)
    },
  }
}
