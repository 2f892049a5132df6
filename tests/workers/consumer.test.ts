import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { Database } from '../../src/core/database.ts'
import { currentLog, requestContext } from '../../src/core/logging.ts'
import { outboxEvents } from '../../src/models/outbox_event.ts'
import { processedEvents } from '../../src/models/processed_event.ts'
import { type EventMessage, recordEvent } from '../../src/services/outbox.ts'
import { startEventPipeline } from '../../src/workers/pipeline.ts'
import { type EventHandler, HandlerRegistry } from '../../src/workers/registry.ts'
import { capturingLogger } from '../support/app.ts'
import {
  DATABASE_BACKENDS,
  RABBITMQ_TEST_URL,
  silentLog,
  sleep,
  useTestDatabase,
  waitUntil,
} from '../support/events.ts'
import { eventMessage, fastConsumerOptions, publishEvent, testBroker } from '../support/pipeline.ts'
import { serviceAvailable } from '../support/services.ts'

const rabbitUp = await serviceAvailable(RABBITMQ_TEST_URL, 'RabbitMQ')

const BROKERS = [
  { name: 'in-process broker', enabled: true, url: undefined },
  { name: 'RabbitMQ', enabled: rabbitUp, url: RABBITMQ_TEST_URL },
]

/** A handler that records the events it ran for, optionally failing or slow. */
function probe(
  name: string,
  behaviour: (event: EventMessage, attempt: number) => Promise<void> = async () => {},
) {
  const calls: { event: EventMessage; attempt: number }[] = []
  const handler: EventHandler = {
    name,
    async handle(event, context) {
      calls.push({ event, attempt: context.attempt })
      await behaviour(event, context.attempt)
    },
  }
  return { handler, calls }
}

for (const backend of DATABASE_BACKENDS) {
  describe.runIf(backend.enabled)(`event consumers on ${backend.name}`, () => {
    // One database for both brokers: an embedded one takes seconds to start.
    const testDb = useTestDatabase(backend, [outboxEvents])
    let db: Database
    beforeAll(() => {
      db = testDb().database.db
    })

    for (const brokerKind of BROKERS) {
      describe.runIf(brokerKind.enabled)(`with the ${brokerKind.name}`, () => {
        /** Starts relay + consumers for one test and stops them (and the broker) when it ends. */
        async function pipelineFor(registry: HandlerRegistry, overrides = {}) {
          const { logger, lines } = capturingLogger()
          const harness = testBroker(brokerKind.url, logger)
          const options = fastConsumerOptions(overrides)
          for (const group of registry.groups())
            harness.track(`${options.queuePrefix}.${group}`, options.retryDelaysMs)
          const pipeline = await startEventPipeline(
            { database: testDb().database, broker: harness.broker, log: logger, registry },
            { relay: { pollIntervalMs: 50 }, consumer: options },
          )
          onTestFinished(async () => {
            await pipeline.stop()
            await harness.close()
          })
          const queue = `${options.queuePrefix}.default`
          return {
            pipeline,
            broker: harness.broker,
            lines,
            queue,
            deadLetters: () => harness.deadLetters(queue),
          }
        }

        it('runs the handler for a recorded event, and every worker log line carries its request_id', async () => {
          const seen = probe('test.log', async (_event) => {
            currentLog(silentLog).info({ step: 'inside' }, 'handler working')
          })
          const registry = new HandlerRegistry().register('user.registered', seen.handler)
          const { pipeline, lines } = await pipelineFor(registry)
          const event = await requestContext.run({ requestId: 'req-trace-7', log: silentLog }, () =>
            db.transaction((tx) => recordEvent(tx, 'user.registered', { user_id: 'u7' })),
          )
          pipeline.wake()
          await waitUntil(() => lines.some((l) => l.msg === 'event handled'), 'the handled event')
          expect(seen.calls.map((c) => c.event)).toEqual([
            {
              id: event.id,
              type: 'user.registered',
              occurred_at: event.occurredAt.toISOString(),
              request_id: 'req-trace-7',
              data: { user_id: 'u7' },
            },
          ])
          const eventLines = lines.filter((l) => l.event_id === event.id)
          expect(eventLines.map((l) => l.msg)).toEqual(
            expect.arrayContaining(['handler working', 'event handled']),
          )
          expect(eventLines.every((l) => l.request_id === 'req-trace-7')).toBe(true)
        })

        it('gives a redelivered event (the same id published twice) a single effect', async () => {
          const seen = probe('test.once', () => sleep(50))
          const registry = new HandlerRegistry().register('post.published', seen.handler)
          const { broker, lines } = await pipelineFor(registry)
          const event = eventMessage('post.published', { post_id: 'p1', author_id: 'a1' })
          await publishEvent(broker, event)
          await publishEvent(broker, event)
          await waitUntil(
            () => lines.some((l) => l.msg === 'event already handled: skipped'),
            'the skipped duplicate',
          )
          expect(seen.calls).toHaveLength(1)
          const rows = await db.select().from(processedEvents).where(eq(processedEvents.eventId, event.id))
          expect(rows).toMatchObject([{ handler: 'test.once', status: 'done' }])
        })

        it('retries only the failed handler of an event; the one that succeeded does not run again', async () => {
          const steady = probe('test.steady')
          const flaky = probe('test.flaky', async (_e, attempt) => {
            if (attempt < 3) throw new Error(`flaky attempt ${attempt}`)
          })
          const registry = new HandlerRegistry()
            .register('user.deleted', steady.handler)
            .register('user.deleted', flaky.handler)
          const { broker, lines } = await pipelineFor(registry)
          const event = eventMessage('user.deleted', { user_id: 'u9' })
          await publishEvent(broker, event)
          await waitUntil(
            () => lines.some((l) => l.msg === 'event handled' && l.handler === 'test.flaky'),
            'the flaky handler to succeed',
          )
          expect(flaky.calls.map((c) => c.attempt)).toEqual([1, 2, 3])
          expect(steady.calls).toHaveLength(1)
          const [row] = await db
            .select()
            .from(processedEvents)
            .where(and(eq(processedEvents.eventId, event.id), eq(processedEvents.handler, 'test.flaky')))
          expect(row).toMatchObject({ status: 'done', attempts: 3, lastError: null })
        })

        it('parks an always-failing event in the DLQ after maxAttempts while the other events flow', async () => {
          const failing = probe('test.failing', async (event) => {
            if (event.data.fail) throw new Error('cannot handle this one')
          })
          const registry = new HandlerRegistry().register('file.deleted', failing.handler)
          const { broker, deadLetters } = await pipelineFor(registry, { prefetch: 1, retryDelaysMs: [150] })
          const bad = eventMessage('file.deleted', { file_id: 'bad', fail: true })
          const good = [1, 2, 3].map((n) => eventMessage('file.deleted', { file_id: `f${n}` }))
          for (const event of [bad, ...good]) await publishEvent(broker, event)
          const parked = await deadLetters()
          await waitUntil(() => parked.length === 1, 'the dead letter')
          expect((parked[0]?.body as EventMessage | undefined)?.id).toBe(bad.id)
          expect(parked[0]?.headers['x-last-error']).toContain('cannot handle this one')
          const order = failing.calls.map((c) => `${c.event.data.file_id}#${c.attempt}`)
          expect(order.filter((o) => o.startsWith('bad'))).toEqual(['bad#1', 'bad#2', 'bad#3'])
          expect(order.indexOf('f3#1')).toBeLessThan(order.indexOf('bad#2'))
          const [row] = await db.select().from(processedEvents).where(eq(processedEvents.eventId, bad.id))
          expect(row).toMatchObject({ status: 'failed', attempts: 3 })
        })

        it('sends a message that is not an event to the DLQ at once', async () => {
          const seen = probe('test.never')
          const registry = new HandlerRegistry().register('user.registered', seen.handler)
          const { broker, deadLetters } = await pipelineFor(registry)
          await broker.publish('user.registered', { hello: 'world' }, { messageId: 'not-an-event' })
          const parked = await deadLetters()
          await waitUntil(() => parked.length === 1, 'the dead letter')
          expect(parked[0]?.attempt).toBe(1)
          expect(seen.calls).toEqual([])
        })

        it('relays a batch in order: a single consumer sees the events as they were recorded', async () => {
          const seen = probe('test.order')
          const registry = new HandlerRegistry().register('post.deleted', seen.handler)
          const { pipeline } = await pipelineFor(registry, { prefetch: 1 })
          const ids: string[] = []
          await db.transaction(async (tx) => {
            for (let n = 0; n < 50; n++)
              ids.push((await recordEvent(tx, 'post.deleted', { post_id: `p${n}` })).id)
          })
          pipeline.wake()
          await waitUntil(() => seen.calls.length === 50, 'all 50 events')
          expect(seen.calls.map((c) => c.event.id)).toEqual(ids)
        })

        it('stop() lets the handler in flight finish and acks its message', async () => {
          let finished = false
          const slow = probe('test.slow', async () => {
            await sleep(300)
            finished = true
          })
          const registry = new HandlerRegistry().register('user.registered', slow.handler)
          const { pipeline, broker } = await pipelineFor(registry)
          const event = eventMessage('user.registered', { user_id: 'slow' })
          await publishEvent(broker, event)
          await waitUntil(() => slow.calls.length === 1, 'the handler to start')
          await pipeline.stop()
          expect(finished).toBe(true)
          const [row] = await db.select().from(processedEvents).where(eq(processedEvents.eventId, event.id))
          expect(row?.status).toBe('done')
        })
      })
    }
  })
}
