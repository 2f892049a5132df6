import { isNull } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requestContext } from '../../src/core/logging.ts'
import { outboxEvents } from '../../src/models/outbox_event.ts'
import { type EventMessage, recordEvent } from '../../src/services/outbox.ts'
import { startEventPipeline } from '../../src/workers/pipeline.ts'
import { HandlerRegistry } from '../../src/workers/registry.ts'
import { capturingLogger } from '../support/app.ts'
import {
  pgliteDatabase,
  postgresDatabase,
  RABBITMQ_TEST_URL,
  silentLog,
  sleep,
  startTcpProxy,
  type TcpProxy,
  type TestDatabase,
  waitUntil,
} from '../support/events.ts'
import { fastConsumerOptions, testBroker } from '../support/pipeline.ts'
import { POSTGRES_SERVER_URL, serviceAvailable } from '../support/services.ts'

const [pgUp, rabbitUp] = await Promise.all([
  serviceAvailable(POSTGRES_SERVER_URL, 'PostgreSQL'),
  serviceAvailable(RABBITMQ_TEST_URL, 'RabbitMQ'),
])

// The outage is the broker's, so one database is enough: PostgreSQL when it answers (it starts in a
// fraction of the time PGlite takes), else PGlite. The relay on PGlite is covered by the outbox tests.
const backend = pgUp
  ? { name: 'PostgreSQL', open: postgresDatabase }
  : { name: 'PGlite', open: pgliteDatabase }

describe.runIf(rabbitUp)(`event pipeline through a RabbitMQ outage (${backend.name})`, () => {
  let testDb: TestDatabase
  let proxy: TcpProxy

  beforeAll(async () => {
    ;[testDb, proxy] = await Promise.all([backend.open(), startTcpProxy()])
  })
  afterAll(async () => {
    await proxy?.stop()
    await testDb?.close()
  })

  it('delivers every event recorded while the broker was unreachable, each exactly once, once it is back', async () => {
    const db = testDb.database.db
    const { logger, lines } = capturingLogger()
    // Relay and consumers both reach RabbitMQ through the proxy: the outage hits both.
    const harness = testBroker(proxy.url, logger)
    const handled: EventMessage[] = []
    const registry = new HandlerRegistry().register('user.registered', {
      name: 'test.outage',
      handle: async (event) => void handled.push(event),
    })
    const options = fastConsumerOptions()
    harness.track(`${options.queuePrefix}.default`, options.retryDelaysMs)
    const pipeline = await startEventPipeline(
      { database: testDb.database, broker: harness.broker, log: logger, registry },
      { relay: { pollIntervalMs: 50, minBackoffMs: 50, maxBackoffMs: 200 }, consumer: options },
    )
    try {
      await proxy.stop()
      const ids: string[] = []
      await requestContext.run({ requestId: 'req-outage', log: silentLog }, async () => {
        for (let n = 0; n < 25; n++) {
          ids.push(
            (await db.transaction((tx) => recordEvent(tx, 'user.registered', { user_id: `u${n}` }))).id,
          )
          pipeline.wake()
        }
      })
      await sleep(1_000)
      expect(handled).toEqual([])
      expect(await db.select().from(outboxEvents).where(isNull(outboxEvents.publishedAt))).toHaveLength(25)
      expect(lines.some((l) => l.msg === 'outbox relay: publishing failed, backing off')).toBe(true)

      await proxy.start()
      await waitUntil(() => handled.length >= 25, 'every event after the outage', 15_000)
      await sleep(300)
      expect(handled.map((e) => e.id).sort()).toEqual([...ids].sort())
      // No duplicate even reached the dispatcher: each was delivered once.
      expect(lines.filter((l) => l.msg === 'event already handled: skipped')).toEqual([])
      expect(handled.every((e) => e.request_id === 'req-outage')).toBe(true)
      expect(await db.select().from(outboxEvents).where(isNull(outboxEvents.publishedAt))).toEqual([])
    } finally {
      await proxy.start().catch(() => {})
      await pipeline.stop()
      await harness.close()
    }
  })
})
