import { inArray } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrokerMessage } from '../../src/core/broker.ts'
import type { DatabaseHandle } from '../../src/core/database.ts'
import { processedEvents } from '../../src/models/processed_event.ts'
import type { EventMessage } from '../../src/services/outbox.ts'
import { EventBusyError, EventDispatcher } from '../../src/workers/consumer.ts'
import { HandlerRegistry } from '../../src/workers/registry.ts'
import { testDatabase } from '../support/database.ts'
import { silentLog } from '../support/events.ts'
import { eventMessage } from '../support/pipeline.ts'

function delivery(event: EventMessage): BrokerMessage {
  return { messageId: event.id, routingKey: event.type, body: event, headers: {}, attempt: 1 }
}

describe('EventDispatcher: deliveries handled together share their ledger statements', () => {
  let database: DatabaseHandle

  beforeAll(async () => {
    database = await testDatabase()
  })
  afterAll(() => database.close())

  async function ledgerRows(events: EventMessage[]) {
    const ids = events.map((e) => e.id)
    return database.db.select().from(processedEvents).where(inArray(processedEvents.eventId, ids))
  }

  function dispatcherWith(handle: (event: EventMessage) => Promise<void>) {
    const handled: string[] = []
    const registry = new HandlerRegistry().register('user.registered', {
      name: 'test.batched',
      async handle(event) {
        handled.push(event.id)
        await handle(event)
      },
    })
    const dispatcher = new EventDispatcher({
      db: database.db,
      broker: undefined as never,
      registry,
      log: silentLog,
    })
    return { dispatcher, handled }
  }

  it('claims, then completes, a burst of deliveries with one statement each', async () => {
    const { dispatcher, handled } = dispatcherWith(async () => {})
    const events = Array.from({ length: 12 }, (_, n) => eventMessage('user.registered', { user_id: `u${n}` }))

    await Promise.all(events.map((event) => dispatcher.dispatch('default', delivery(event))))

    expect(handled.sort()).toEqual(events.map((e) => e.id).sort())
    const rows = await ledgerRows(events)
    expect(rows).toHaveLength(12)
    expect(rows.every((row) => row.status === 'done')).toBe(true)
    // now() is the statement's transaction start: one value per statement.
    expect(new Set(rows.map((row) => row.startedAt.getTime())).size).toBe(1)
    expect(new Set(rows.map((row) => row.processedAt?.getTime())).size).toBe(1)
  })

  it('fails only the delivery whose handler failed; the others in its batch are done', async () => {
    const events = Array.from({ length: 4 }, (_, n) => eventMessage('user.registered', { user_id: `f${n}` }))
    const failing = events[2]!.id
    const { dispatcher } = dispatcherWith(async (event) => {
      if (event.id === failing) throw new Error('handler failed')
    })

    const outcomes = await Promise.allSettled(events.map((e) => dispatcher.dispatch('default', delivery(e))))

    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    const status = new Map((await ledgerRows(events)).map((row) => [row.eventId, row.status]))
    expect(events.map((e) => status.get(e.id))).toEqual(['done', 'done', 'failed', 'done'])
  })

  it('runs an event delivered twice in one burst once; the second delivery is busy, then skipped', async () => {
    const { dispatcher, handled } = dispatcherWith(async () => {})
    const event = eventMessage('user.registered', { user_id: 'twice' })

    const outcomes = await Promise.allSettled([
      dispatcher.dispatch('default', delivery(event)),
      dispatcher.dispatch('default', delivery(event)),
    ])

    expect(outcomes[0]?.status).toBe('fulfilled')
    expect(outcomes[1]?.status === 'rejected' && outcomes[1].reason).toBeInstanceOf(EventBusyError)
    await dispatcher.dispatch('default', delivery(event))
    expect(handled).toEqual([event.id])
  })
})
