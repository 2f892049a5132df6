import { asc, inArray } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseHandle } from '../../src/core/database.ts'
import { requestContext } from '../../src/core/logging.ts'
import { outboxEvents } from '../../src/models/outbox_event.ts'
import { recordEvents } from '../../src/services/outbox.ts'
import { testDatabase } from '../support/database.ts'
import { unique } from '../support/factories.ts'

describe('recordEvents', () => {
  let database: DatabaseHandle
  beforeAll(async () => {
    database = await testDatabase()
  })
  afterAll(() => database.close())

  it('stores the events in one insert, in order, with the request ID', async () => {
    const ids = [unique(), unique(), unique()]
    const log = { info() {} } as never
    const stored = await requestContext.run({ requestId: 'req-bulk-1', log }, () =>
      database.db.transaction((tx) =>
        recordEvents(
          tx,
          ids.map((id) => ({ type: 'post.deleted' as const, data: { post_id: id } })),
        ),
      ),
    )
    expect(stored.map((e) => e.payload)).toEqual(ids.map((id) => ({ post_id: id })))
    const rows = await database.db
      .select()
      .from(outboxEvents)
      .where(
        inArray(
          outboxEvents.id,
          stored.map((e) => e.id),
        ),
      )
      .orderBy(asc(outboxEvents.occurredAt), asc(outboxEvents.id))
    expect(rows.map((r) => (r.payload as { post_id: string }).post_id)).toEqual(ids)
    expect(rows.every((r) => r.requestId === 'req-bulk-1' && r.publishedAt === null)).toBe(true)
  })

  it('stores nothing when the transaction rolls back, and nothing for an empty list', async () => {
    const id = unique()
    await expect(
      database.db.transaction(async (tx) => {
        await recordEvents(tx, [{ type: 'post.deleted', data: { post_id: id } }])
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    const all = await database.db.select().from(outboxEvents)
    expect(all.some((r) => (r.payload as { post_id?: string }).post_id === id)).toBe(false)
    expect(await database.db.transaction((tx) => recordEvents(tx, []))).toEqual([])
  })
})
