import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ATTEMPT_HEADER,
  type Broker,
  type BrokerMessage,
  type ConsumeOptions,
  createBroker,
  LAST_ERROR_HEADER,
  NonRetryableError,
} from '../../src/core/broker.ts'
import { deadLetterQueueName } from '../../src/core/broker_common.ts'
import { createMemoryBroker, topicMatches } from '../../src/core/broker_memory.ts'
import { DependencyException } from '../../src/exceptions.ts'
import {
  deleteAmqpTopology,
  FAST_RECONNECT,
  queueFamily,
  RABBITMQ_TEST_URL,
  silentLog,
  sleep,
  uniqueName,
  waitUntil,
} from '../support/events.ts'
import { serviceAvailable } from '../support/services.ts'

const rabbitUp = await serviceAvailable(RABBITMQ_TEST_URL, 'RabbitMQ')

/** Short back-offs: long enough that "messages behind keep flowing" is visible, short for the suite. */
const FAST: ConsumeOptions = { prefetch: 4, maxAttempts: 3, retryDelaysMs: [150, 150] }

const ADAPTERS = [
  { name: 'in-process', enabled: true, url: undefined },
  { name: 'RabbitMQ', enabled: rabbitUp, url: RABBITMQ_TEST_URL },
]

/** A consumer that records what it received. */
function collector(onMessage: (m: BrokerMessage) => Promise<void> = async () => {}) {
  const received: BrokerMessage[] = []
  const handler = async (message: BrokerMessage) => {
    received.push(message)
    await onMessage(message)
  }
  return { received, handler }
}

for (const adapter of ADAPTERS) {
  describe.runIf(adapter.enabled)(`broker contract (${adapter.name})`, () => {
    const exchange = uniqueName('test.events')
    const queues: string[] = []
    let broker: Broker

    const queueName = (delays = FAST.retryDelaysMs) => {
      const queue = uniqueName('test.broker')
      queues.push(...queueFamily(queue, delays), ...queueFamily(deadLetterQueueName(queue), delays))
      return queue
    }

    beforeAll(() => {
      broker = createBroker({ rabbitmqUrl: adapter.url }, silentLog, { exchange, connection: FAST_RECONNECT })
    })

    afterAll(async () => {
      await broker?.close()
      if (adapter.url) await deleteAmqpTopology([exchange], queues)
    })

    it('delivers a published message with its id, routing key, headers and JSON body', async () => {
      const queue = queueName()
      const { received, handler } = collector()
      const sub = await broker.consume(queue, ['user.*'], handler, FAST)
      const messageId = randomUUID()
      await broker.publish(
        'user.registered',
        { user_id: 'u1', n: 1 },
        { messageId, headers: { 'x-test': 'yes' } },
      )
      await waitUntil(() => received.length === 1, 'the delivery')
      expect(received[0]).toMatchObject({
        messageId,
        routingKey: 'user.registered',
        body: { user_id: 'u1', n: 1 },
        attempt: 1,
      })
      expect(received[0]?.headers['x-test']).toBe('yes')
      await sub.close()
    })

    it('routes by topic pattern: a queue gets only the types it is bound to', async () => {
      const users = collector()
      const posts = collector()
      const subs = [
        await broker.consume(queueName(), ['user.#'], users.handler, FAST),
        await broker.consume(queueName(), ['post.published'], posts.handler, FAST),
      ]
      await broker.publish('user.deleted', { k: 1 }, { messageId: randomUUID() })
      await broker.publish('post.published', { k: 2 }, { messageId: randomUUID() })
      await broker.publish('post.deleted', { k: 3 }, { messageId: randomUUID() })
      await waitUntil(() => users.received.length === 1 && posts.received.length === 1, 'both deliveries')
      await sleep(100)
      expect(users.received.map((m) => m.routingKey)).toEqual(['user.deleted'])
      expect(posts.received.map((m) => m.routingKey)).toEqual(['post.published'])
      await Promise.all(subs.map((s) => s.close()))
    })

    it('retries a failing message with back-off, then parks it in <queue>.dlq, while the messages behind it flow', async () => {
      const queue = queueName()
      const timeline: string[] = []
      const { handler } = collector(async (m) => {
        const body = m.body as { name: string; fail?: boolean }
        timeline.push(`${body.name}#${m.attempt}`)
        if (body.fail) throw new Error('handler exploded')
      })
      const dead = collector()
      const subs = [
        await broker.consume(queue, ['job.run'], handler, { ...FAST, prefetch: 1 }),
        await broker.consume(deadLetterQueueName(queue), [], dead.handler, FAST),
      ]
      await broker.publish('job.run', { name: 'bad', fail: true }, { messageId: 'bad-1' })
      for (const name of ['a', 'b', 'c']) await broker.publish('job.run', { name }, { messageId: name })

      await waitUntil(() => dead.received.length === 1, 'the dead letter')
      expect(timeline.filter((t) => t.startsWith('bad'))).toEqual(['bad#1', 'bad#2', 'bad#3'])
      // With prefetch 1, a message requeued in place would hold up the others: they must come first.
      expect(timeline.indexOf('c#1')).toBeLessThan(timeline.indexOf('bad#2'))
      const parked = dead.received[0] as BrokerMessage
      expect(parked).toMatchObject({
        messageId: 'bad-1',
        routingKey: 'job.run',
        body: { name: 'bad', fail: true },
      })
      expect(Number(parked.headers[ATTEMPT_HEADER])).toBe(3)
      expect(String(parked.headers[LAST_ERROR_HEADER])).toContain('handler exploded')
      await Promise.all(subs.map((s) => s.close()))
    })

    it('delivers a failing message again until it succeeds, with no dead letter', async () => {
      const queue = queueName()
      const { received, handler } = collector(async (m) => {
        if (m.attempt < 3) throw new Error('not yet')
      })
      const dead = collector()
      const subs = [
        await broker.consume(queue, ['job.flaky'], handler, FAST),
        await broker.consume(deadLetterQueueName(queue), [], dead.handler, FAST),
      ]
      await broker.publish('job.flaky', { x: 1 }, { messageId: 'flaky' })
      await waitUntil(() => received.length === 3, 'three attempts')
      await sleep(400)
      expect(received.map((m) => [m.attempt, m.routingKey, m.messageId])).toEqual([
        [1, 'job.flaky', 'flaky'],
        [2, 'job.flaky', 'flaky'],
        [3, 'job.flaky', 'flaky'],
      ])
      expect(dead.received).toEqual([])
      await Promise.all(subs.map((s) => s.close()))
    })

    it('sends a message failing with NonRetryableError straight to the DLQ', async () => {
      const queue = queueName()
      const { received, handler } = collector(async () => {
        throw new NonRetryableError('malformed')
      })
      const dead = collector()
      const subs = [
        await broker.consume(queue, ['job.poison'], handler, FAST),
        await broker.consume(deadLetterQueueName(queue), [], dead.handler, FAST),
      ]
      await broker.publish('job.poison', { x: 1 }, { messageId: 'poison' })
      await waitUntil(() => dead.received.length === 1, 'the dead letter')
      expect(received).toHaveLength(1)
      expect(Number(dead.received[0]?.headers[ATTEMPT_HEADER])).toBe(1)
      await Promise.all(subs.map((s) => s.close()))
    })

    it('keeps the messages of a queue while nobody consumes it', async () => {
      const queue = queueName()
      await (await broker.consume(queue, ['job.kept'], async () => {}, FAST)).close()
      await broker.publish('job.kept', { kept: true }, { messageId: 'kept' })
      const { received, handler } = collector()
      const sub = await broker.consume(queue, ['job.kept'], handler, FAST)
      await waitUntil(() => received.length === 1, 'the kept message')
      expect(received[0]?.body).toEqual({ kept: true })
      await sub.close()
    })

    it('closing a subscription lets the message in flight finish, and acks it', async () => {
      const queue = queueName()
      let finished = false
      const { received, handler } = collector(async () => {
        await sleep(300)
        finished = true
      })
      const sub = await broker.consume(queue, ['job.slow'], handler, FAST)
      await broker.publish('job.slow', {}, { messageId: 'slow' })
      await waitUntil(() => received.length === 1, 'the delivery')
      await sub.close()
      expect(finished).toBe(true)
      const again = collector()
      const second = await broker.consume(queue, ['job.slow'], again.handler, FAST)
      await sleep(400)
      expect(again.received).toEqual([])
      await second.close()
    })

    it('reports its mode and answers ping until closed', async () => {
      expect(broker.mode).toBe(adapter.url ? 'external' : 'embedded')
      expect(broker.exchange).toBe(exchange)
      await expect(broker.ping(2_000)).resolves.toBeUndefined()
      const other = createBroker({ rabbitmqUrl: adapter.url }, silentLog, {
        exchange,
        connection: FAST_RECONNECT,
      })
      await other.ping(2_000).catch(() => {})
      await other.close()
      await expect(other.ping(500)).rejects.toBeInstanceOf(DependencyException)
      await expect(other.publish('x.y', {}, { messageId: 'm' })).rejects.toBeInstanceOf(DependencyException)
    })
  })
}

describe('in-process broker', () => {
  it('keeps dead letters inspectable, and delivers nothing after close', async () => {
    const broker = createMemoryBroker(silentLog, { exchange: 'test' })
    const seen: BrokerMessage[] = []
    await broker.consume(
      'jobs',
      ['job.*'],
      async (m) => {
        seen.push(m)
        throw new Error('always')
      },
      { maxAttempts: 2, retryDelaysMs: [10] },
    )
    await broker.publish('job.one', { n: 1 }, { messageId: 'one' })
    await waitUntil(() => broker.deadLetters('jobs').length === 1, 'the dead letter')
    expect(seen.map((m) => m.attempt)).toEqual([1, 2])
    expect(broker.deadLetters('jobs')[0]).toMatchObject({
      messageId: 'one',
      routingKey: 'job.one',
      attempt: 2,
    })
    expect(broker.deadLetters('other')).toEqual([])
    await broker.close()
    await expect(broker.publish('job.two', {}, { messageId: 'two' })).rejects.toBeInstanceOf(
      DependencyException,
    )
    await expect(broker.consume('jobs', [], async () => {})).rejects.toBeInstanceOf(DependencyException)
  })
})

describe('topicMatches', () => {
  it('follows the AMQP topic rules', () => {
    expect(topicMatches('user.*', 'user.registered')).toBe(true)
    expect(topicMatches('user.*', 'user.a.b')).toBe(false)
    expect(topicMatches('user.#', 'user')).toBe(true)
    expect(topicMatches('user.#', 'user.a.b')).toBe(true)
    expect(topicMatches('#', 'anything.at.all')).toBe(true)
    expect(topicMatches('*.deleted', 'post.deleted')).toBe(true)
    expect(topicMatches('*.deleted', 'post.published')).toBe(false)
    expect(topicMatches('post.published', 'post.published')).toBe(true)
  })
})
