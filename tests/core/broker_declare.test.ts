import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Broker, type BrokerMessage, createBroker } from '../../src/core/broker.ts'
import {
  deleteAmqpTopology,
  queueFamily,
  RABBITMQ_TEST_URL,
  silentLog,
  uniqueName,
  waitUntil,
} from '../support/events.ts'
import { serviceAvailable } from '../support/services.ts'

const rabbitUp = await serviceAvailable(RABBITMQ_TEST_URL, 'RabbitMQ')

describe.runIf(rabbitUp)('Broker.declareQueue on RabbitMQ', () => {
  const exchange = uniqueName('test.declare')
  const queue = uniqueName('test.declare.q')
  let broker: Broker

  beforeAll(() => {
    broker = createBroker({ rabbitmqUrl: RABBITMQ_TEST_URL }, silentLog, { exchange })
  })
  afterAll(async () => {
    await broker?.close()
    await deleteAmqpTopology([exchange], queueFamily(queue, [1000, 10000, 60000, 300000]))
  })

  it('keeps messages published before any consumer ever ran, and its consumer declares it alike', async () => {
    await broker.declareQueue(queue, ['thing.happened'])
    await broker.publish('thing.happened', { n: 1 }, { messageId: 'm-1' })
    await broker.publish('other.thing', { n: 2 }, { messageId: 'm-2' })
    const seen: BrokerMessage[] = []
    const subscription = await broker.consume(queue, ['thing.happened'], async (message) => {
      seen.push(message)
    })
    await waitUntil(() => seen.length >= 1, 'the message published before the consumer')
    await subscription.close()
    expect(seen.map((m) => m.body)).toEqual([{ n: 1 }])
  })
})
