import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Broker, type BrokerMessage, createBroker } from '../../src/core/broker.ts'
import { DependencyException } from '../../src/exceptions.ts'
import {
  deleteAmqpTopology,
  FAST_RECONNECT,
  queueFamily,
  RABBITMQ_TEST_URL,
  silentLog,
  sleep,
  startTcpProxy,
  type TcpProxy,
  uniqueName,
  waitUntil,
} from '../support/events.ts'
import { serviceAvailable } from '../support/services.ts'

const rabbitUp = await serviceAvailable(RABBITMQ_TEST_URL, 'RabbitMQ')
const DELAYS = [100]

describe.runIf(rabbitUp)('RabbitMQ broker through an outage', () => {
  const exchange = uniqueName('test.events')
  const queues: string[] = []
  let proxy: TcpProxy
  let direct: Broker
  let proxied: Broker

  beforeAll(async () => {
    proxy = await startTcpProxy()
    const options = { exchange, connection: FAST_RECONNECT, publishTimeoutMs: 2_000 }
    direct = createBroker({ rabbitmqUrl: RABBITMQ_TEST_URL }, silentLog, options)
    proxied = createBroker({ rabbitmqUrl: proxy.url }, silentLog, options)
  })

  afterAll(async () => {
    await proxy?.start().catch(() => {})
    await Promise.all([direct?.close(), proxied?.close()])
    await proxy?.stop()
    await deleteAmqpTopology([exchange], queues)
  })

  it('rejects publishes and pings while the broker is unreachable, and publishes again once it is back', async () => {
    await proxied.publish('job.any', { n: 1 }, { messageId: randomUUID() })
    await proxy.stop()
    const started = Date.now()
    await expect(proxied.publish('job.any', { n: 2 }, { messageId: randomUUID() })).rejects.toBeInstanceOf(
      DependencyException,
    )
    expect(Date.now() - started).toBeLessThan(5_000)
    await expect(proxied.ping(500)).rejects.toBeInstanceOf(DependencyException)
    await proxy.start()
    await waitUntil(
      () =>
        proxied.publish('job.any', { n: 3 }, { messageId: randomUUID() }).then(
          () => true,
          () => false,
        ),
      'a publish after the outage',
    )
    await expect(proxied.ping(1_000)).resolves.toBeUndefined()
  })

  it('declares its queue and bindings again after the connection comes back', async () => {
    const queue = uniqueName('test.redeclare')
    queues.push(...queueFamily(queue, DELAYS))
    const received: BrokerMessage[] = []
    const sub = await proxied.consume(queue, ['job.redeclared'], async (m) => void received.push(m), {
      retryDelaysMs: DELAYS,
    })
    await proxy.stop()
    // Gone while the consumer is away: only a fresh declaration and binding bring messages back.
    await deleteAmqpTopology([], [queue])
    await proxy.start()
    await waitUntil(async () => {
      await direct.publish('job.redeclared', { ok: true }, { messageId: randomUUID() })
      await sleep(50)
      return received.length > 0
    }, 'a delivery to the re-declared queue')
    expect(received[0]?.body).toEqual({ ok: true })
    await sub.close()
  })
})
