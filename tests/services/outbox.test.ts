import { asc, eq, sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Broker, PublishOptions } from '../../src/core/broker.ts'
import type { Database } from '../../src/core/database.ts'
import { requestContext } from '../../src/core/logging.ts'
import { outboxEvents } from '../../src/models/outbox_event.ts'
import { OutboxRepository } from '../../src/repositories/outbox_repo.ts'
import { recordEvent } from '../../src/services/outbox.ts'
import { createOutboxRelay } from '../../src/services/outbox_relay.ts'
import { DATABASE_BACKENDS, silentLog, sleep, useTestDatabase, waitUntil } from '../support/events.ts'

interface Published {
  routingKey: string
  message: Record<string, unknown>
  options: PublishOptions
}

/** A broker that records publishes, and fails them while `failing` is set. */
function recordingBroker(delayMs = 0) {
  const published: Published[] = []
  const state = { failing: false, attempts: 0 }
  const broker: Broker = {
    mode: 'embedded',
    exchange: 'test',
    async publish(routingKey, message, options) {
      state.attempts++
      if (delayMs) await sleep(delayMs)
      if (state.failing) throw new Error('broker down')
      published.push({ routingKey, message: message as Record<string, unknown>, options })
    },
    consume: () => Promise.reject(new Error('not used')),
    declareQueue: async () => {},
    ping: async () => {},
    close: async () => {},
  }
  return { broker, published, state }
}

async function record(
  db: Database,
  type: 'user.registered' | 'post.published',
  data: Record<string, unknown>,
) {
  return db.transaction((tx) => recordEvent(tx, type, data))
}

for (const backend of DATABASE_BACKENDS) {
  describe.runIf(backend.enabled)(`outbox on ${backend.name}`, () => {
    // Each test starts with an empty outbox: a relay publishes every unpublished row.
    const testDb = useTestDatabase(backend, [outboxEvents])
    let db: Database
    beforeAll(() => {
      db = testDb().database.db
    })

    it('recordEvent stores the event with the current request ID, or none outside a request', async () => {
      const log = silentLog
      const inRequest = await requestContext.run({ requestId: 'req-42', log }, () =>
        record(db, 'user.registered', { user_id: 'u1' }),
      )
      const outside = await record(db, 'post.published', { post_id: 'p1', author_id: 'u1' })
      const [row] = await db.select().from(outboxEvents).where(eq(outboxEvents.id, inRequest.id))
      expect(row).toMatchObject({ type: 'user.registered', payload: { user_id: 'u1' }, requestId: 'req-42' })
      expect(row?.publishedAt).toBeNull()
      expect(row?.occurredAt).toBeInstanceOf(Date)
      expect(inRequest.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/)
      expect(outside.requestId).toBeNull()
    })

    it('never publishes an event recorded in a rolled-back transaction', async () => {
      const { broker, published } = recordingBroker()
      const rolledBack = db.transaction(async (tx) => {
        await recordEvent(tx, 'user.registered', { user_id: 'ghost' })
        throw new Error('the change failed')
      })
      await expect(rolledBack).rejects.toThrow('the change failed')
      const kept = await record(db, 'user.registered', { user_id: 'kept' })
      const relay = createOutboxRelay({ db, broker, log: silentLog })
      await relay.relayBatch()
      expect(published.map((p) => p.options.messageId)).toEqual([kept.id])
      expect(await db.select().from(outboxEvents)).toHaveLength(1)
    })

    it('publishes in (occurred_at, id) order with the API.md body, routing key = type, message id = event id', async () => {
      const { broker, published } = recordingBroker()
      const ids: string[] = []
      await requestContext.run({ requestId: 'req-order', log: silentLog }, async () => {
        for (let i = 0; i < 30; i++) {
          const type = i % 2 ? 'post.published' : 'user.registered'
          ids.push((await record(db, type, { n: i })).id)
        }
      })
      // An older event recorded later must still go first.
      const [late] = await db
        .insert(outboxEvents)
        .values({ type: 'user.registered', payload: { n: -1 }, occurredAt: new Date(Date.now() - 60_000) })
        .returning()
      const relay = createOutboxRelay({ db, broker, log: silentLog }, { batchSize: 100 })
      expect(await relay.relayBatch()).toEqual({ published: 31, failed: 0 })

      expect(published.map((p) => p.options.messageId)).toEqual([late?.id, ...ids])
      const first = published[1] as Published
      expect(first.routingKey).toBe('user.registered')
      expect(Object.keys(first.message)).toEqual(['id', 'type', 'occurred_at', 'request_id', 'data'])
      expect(first.message).toEqual({
        id: ids[0],
        type: 'user.registered',
        occurred_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        request_id: 'req-order',
        data: { n: 0 },
      })
      const rows = await db.select().from(outboxEvents).orderBy(asc(outboxEvents.occurredAt))
      expect(rows.every((r) => r.publishedAt instanceof Date && r.attempts === 1)).toBe(true)
      expect(await relay.relayBatch()).toEqual({ published: 0, failed: 0 })
      expect(published).toHaveLength(31)
    })

    it('publishes in batches of batchSize', async () => {
      const { broker } = recordingBroker()
      for (let i = 0; i < 5; i++) await record(db, 'user.registered', { n: i })
      const relay = createOutboxRelay({ db, broker, log: silentLog }, { batchSize: 2 })
      const sizes = [await relay.relayBatch(), await relay.relayBatch(), await relay.relayBatch()]
      expect(sizes.map((s) => s.published)).toEqual([2, 2, 1])
    })

    it('keeps failed events unpublished with their attempts and error, then publishes them', async () => {
      const { broker, published, state } = recordingBroker()
      const event = await record(db, 'user.registered', { user_id: 'u' })
      const relay = createOutboxRelay({ db, broker, log: silentLog })
      const repo = new OutboxRepository(db)
      state.failing = true
      await expect(relay.relayBatch()).rejects.toThrow('broker down')
      const [failed] = await db.select().from(outboxEvents).where(eq(outboxEvents.id, event.id))
      expect(failed).toMatchObject({ publishedAt: null, attempts: 1, lastError: 'Error: broker down' })
      expect(await repo.countUnpublished()).toBe(1)
      state.failing = false
      await relay.relayBatch()
      expect(await repo.countUnpublished()).toBe(0)
      const [done] = await db.select().from(outboxEvents).where(eq(outboxEvents.id, event.id))
      expect(done).toMatchObject({ attempts: 2, lastError: null })
      expect(done?.publishedAt).toBeInstanceOf(Date)
      expect(published).toHaveLength(1)
    })

    it('with several relays at once, publishes each event exactly once (SKIP LOCKED)', async () => {
      const { broker, published } = recordingBroker(1)
      await db.transaction(async (tx) => {
        for (let i = 0; i < 120; i++) await recordEvent(tx, 'user.registered', { n: i })
      })
      const relays = [1, 2, 3].map(() =>
        createOutboxRelay({ db, broker, log: silentLog }, { batchSize: 10, pollIntervalMs: 20 }),
      )
      for (const relay of relays) relay.start()
      await waitUntil(() => published.length >= 120, 'every event published')
      await sleep(100)
      await Promise.all(relays.map((r) => r.stop()))
      const ids = published.map((p) => p.options.messageId)
      expect(ids).toHaveLength(120)
      expect(new Set(ids).size).toBe(120)
    })

    it('publishes at once on wake(), and stop() lets the batch in flight finish', async () => {
      const { broker, published } = recordingBroker(150)
      const relay = createOutboxRelay({ db, broker, log: silentLog }, { pollIntervalMs: 60_000 })
      relay.start()
      await sleep(50)
      const event = await record(db, 'user.registered', { user_id: 'woken' })
      const woken = Date.now()
      relay.wake()
      await waitUntil(() => published.length === 1, 'the woken publish', 3_000)
      expect(Date.now() - woken).toBeLessThan(1_000)

      const second = await record(db, 'user.registered', { user_id: 'in-flight' })
      relay.wake()
      await sleep(30)
      await relay.stop()
      const rows = await db
        .select()
        .from(outboxEvents)
        .where(sql`${outboxEvents.id} IN (${event.id}, ${second.id})`)
      expect(rows.every((r) => r.publishedAt !== null)).toBe(true)
    })

    it('backs off exponentially while the broker is down, then catches up', async () => {
      const { broker, published, state } = recordingBroker()
      state.failing = true
      await record(db, 'user.registered', { user_id: 'u' })
      const relay = createOutboxRelay(
        { db, broker, log: silentLog },
        { pollIntervalMs: 10, minBackoffMs: 40, maxBackoffMs: 160 },
      )
      relay.start()
      await sleep(700)
      // 40 + 80 + 160 + 160 + 160 ms: about 5 tries, not the ~70 a 10 ms poll would make.
      expect(state.attempts).toBeGreaterThanOrEqual(3)
      expect(state.attempts).toBeLessThanOrEqual(8)
      state.failing = false
      await waitUntil(() => published.length === 1, 'the publish after recovery', 3_000)
      await relay.stop()
    })
  })
}
