import { asc } from 'drizzle-orm'
import { v7 as uuidv7 } from 'uuid'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/core/database.ts'
import { outboxEvents } from '../../src/models/outbox_event.ts'
import { processedEvents } from '../../src/models/processed_event.ts'
import { EventRetention, uuidV7Floor } from '../../src/services/event_retention.ts'
import { DATABASE_BACKENDS, silentLog, useTestDatabase, waitUntil } from '../support/events.ts'

const DAY_MS = 86_400_000
const NOW = new Date()

/** A UUID v7 made `days` ago, as the service would have made it then. */
const idFrom = (days: number) => uuidv7({ msecs: NOW.getTime() - days * DAY_MS })

describe('uuidV7Floor', () => {
  it('sorts after every id made before its instant and before every id made from it on', () => {
    const instant = new Date(Date.UTC(2026, 0, 1))
    const floor = uuidV7Floor(instant)
    expect(floor).toBe('019b76da-a800-7000-8000-000000000000')
    expect(uuidv7({ msecs: instant.getTime() - 1 }) < floor).toBe(true)
    expect(uuidv7({ msecs: instant.getTime() }) >= floor).toBe(true)
  })
})

for (const backend of DATABASE_BACKENDS) {
  describe.runIf(backend.enabled)(`EventRetention on ${backend.name}`, () => {
    const testDb = useTestDatabase(backend, [outboxEvents, processedEvents])
    let db: Database
    beforeAll(() => {
      db = testDb().database.db
    })

    async function event(ageDays: number, published: boolean) {
      const id = idFrom(ageDays)
      await db.insert(outboxEvents).values({
        id,
        type: 'user.registered',
        payload: { user_id: id },
        occurredAt: new Date(NOW.getTime() - ageDays * DAY_MS),
        publishedAt: published ? new Date(NOW.getTime() - ageDays * DAY_MS) : null,
      })
      return id
    }

    async function ledgerLine(ageDays: number) {
      const id = idFrom(ageDays)
      await db.insert(processedEvents).values({ id, eventId: id, handler: 'test.handler', status: 'done' })
      return id
    }

    const remaining = async () => ({
      events: (await db.select({ id: outboxEvents.id }).from(outboxEvents).orderBy(asc(outboxEvents.id))).map(
        (r) => r.id,
      ),
      ledger: (
        await db.select({ id: processedEvents.id }).from(processedEvents).orderBy(asc(processedEvents.id))
      ).map((r) => r.id),
    })

    it('deletes published events and ledger lines past the retention period, in batches, and keeps the rest', async () => {
      for (let n = 0; n < 5; n++) await event(10 + n, true)
      const oldUnpublished = await event(30, false)
      const recent = await event(6, true)
      const recentUnpublished = await event(1, false)
      for (let n = 0; n < 3; n++) await ledgerLine(8 + n)
      const recentLine = await ledgerLine(2)
      const retention = new EventRetention({ db, log: silentLog }, { retentionDays: 7, batchSize: 2 })

      expect(await retention.pruneOnce(NOW)).toEqual({ outboxEvents: 5, processedEvents: 3 })

      expect(await remaining()).toEqual({
        events: [oldUnpublished, recent, recentUnpublished],
        ledger: [recentLine],
      })
      expect(await retention.pruneOnce(NOW)).toEqual({ outboxEvents: 0, processedEvents: 0 })
    })

    it('prunes on its interval once started, and stop() ends it', async () => {
      await event(9, true)
      const kept = await event(0, true)
      const retention = new EventRetention({ db, log: silentLog }, { retentionDays: 7, intervalMs: 20 })
      retention.start()
      try {
        await waitUntil(async () => (await remaining()).events.length === 1, 'the old event pruned')
      } finally {
        await retention.stop()
      }
      expect((await remaining()).events).toEqual([kept])
    })
  })
}
