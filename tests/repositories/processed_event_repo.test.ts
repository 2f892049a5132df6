import { randomUUID } from 'node:crypto'
import { and, eq, sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseHandle } from '../../src/core/database.ts'
import { processedEvents } from '../../src/models/processed_event.ts'
import { type LedgerKey, ProcessedEventRepository } from '../../src/repositories/processed_event_repo.ts'
import { testDatabase } from '../support/database.ts'

const LEASE_MS = 60_000

describe('ProcessedEventRepository: the batched idempotency ledger', () => {
  let database: DatabaseHandle
  let ledger: ProcessedEventRepository

  beforeAll(async () => {
    database = await testDatabase()
    ledger = new ProcessedEventRepository(database.db)
  })
  afterAll(() => database.close())

  const key = (handler = 'test.handler'): LedgerKey => ({ eventId: randomUUID(), handler })

  async function statusOf({ eventId, handler }: LedgerKey) {
    const [row] = await database.db
      .select({ status: processedEvents.status, attempts: processedEvents.attempts })
      .from(processedEvents)
      .where(and(eq(processedEvents.eventId, eventId), eq(processedEvents.handler, handler)))
    return row
  }

  it('claims new pairs in one call, then reports them busy while they run and done once completed', async () => {
    const [a, b, c] = [key(), key(), key('other.handler')]
    expect(await ledger.claimMany([a, b, c], LEASE_MS)).toEqual(['claimed', 'claimed', 'claimed'])
    expect(await ledger.claimMany([a, b], LEASE_MS)).toEqual(['busy', 'busy'])

    await ledger.completeMany([a, c])
    expect(await ledger.claimMany([a, b, c], LEASE_MS)).toEqual(['done', 'busy', 'done'])
    expect(await statusOf(b)).toEqual({ status: 'started', attempts: 1 })
  })

  it('claims a pair named twice in one call once: its second mention is busy', async () => {
    const a = key()
    const sameEventOtherHandler = { eventId: a.eventId, handler: 'second.handler' }
    expect(await ledger.claimMany([a, { ...a }, sameEventOtherHandler], LEASE_MS)).toEqual([
      'claimed',
      'busy',
      'claimed',
    ])
  })

  it('hands a failed claim, or one whose lease ran out, to the next claimant', async () => {
    const [failed, abandoned, running] = [key(), key(), key()]
    await ledger.claimMany([failed, abandoned, running], LEASE_MS)
    await ledger.release(failed.eventId, failed.handler, 'boom')
    await database.db
      .update(processedEvents)
      .set({ startedAt: sql`now() - interval '2 minutes'` })
      .where(eq(processedEvents.eventId, abandoned.eventId))

    expect(await ledger.claimMany([failed, abandoned, running], LEASE_MS)).toEqual([
      'claimed',
      'claimed',
      'busy',
    ])
    expect(await statusOf(failed)).toEqual({ status: 'started', attempts: 2 })
    expect(await statusOf(abandoned)).toEqual({ status: 'started', attempts: 2 })
  })

  it('completes only the pairs it is given', async () => {
    const [a, b] = [key(), key()]
    await ledger.claimMany([a, b], LEASE_MS)
    await ledger.completeMany([b])
    expect((await statusOf(a))?.status).toBe('started')
    expect((await statusOf(b))?.status).toBe('done')
  })

  it('does nothing for an empty batch', async () => {
    expect(await ledger.claimMany([], LEASE_MS)).toEqual([])
    await expect(ledger.completeMany([])).resolves.toBeUndefined()
  })
})
