import { NonRetryableError } from '../core/broker.ts'
import type { Database } from '../core/database.ts'
import { currentRequestId } from '../core/logging.ts'
import type { OutboxEvent } from '../models/outbox_event.ts'
import { OutboxRepository } from '../repositories/outbox_repo.ts'
import type { EventType } from './events.ts'

/** The body of an event message, exactly as API.md "Events" defines it. */
export interface EventMessage {
  id: string
  type: string
  /** ISO 8601 UTC with milliseconds. */
  occurred_at: string
  /** The ID of the request that caused the event; null when none did (a script, a job). */
  request_id: string | null
  /** The ids of what changed, e.g. `{ user_id }`. */
  data: Record<string, unknown>
}

/**
 * Records an event in the caller's transaction (the transactional outbox): it is published only if
 * that transaction commits. Carries the current request ID. Call the relay's `wake()` after the
 * commit to publish it at once instead of at the next poll.
 *
 * @param tx the transaction of the change that causes the event
 * @param type the event type (also the routing key)
 * @param data the ids of what changed
 * @returns the stored event
 */
export async function recordEvent(
  tx: Database,
  type: EventType,
  data: Record<string, unknown>,
): Promise<OutboxEvent> {
  return new OutboxRepository(tx).insert({
    type,
    payload: data,
    requestId: currentRequestId() ?? null,
    occurredAt: new Date(),
  })
}

/**
 * Records several events in the caller's transaction with one multi-row INSERT (bulk changes, jobs).
 * They keep their order: same `occurred_at`, ids (UUID v7) increasing.
 *
 * @param tx the transaction of the change that causes the events
 * @param events each event's type and data
 * @returns the stored events, in order
 */
export async function recordEvents(
  tx: Database,
  events: { type: EventType; data: Record<string, unknown> }[],
): Promise<OutboxEvent[]> {
  if (events.length === 0) return []
  const requestId = currentRequestId() ?? null
  const occurredAt = new Date()
  return new OutboxRepository(tx).insertMany(
    events.map(({ type, data }) => ({ type, payload: data, requestId, occurredAt })),
  )
}

/**
 * The message body of a stored event.
 * @param event a row of `outbox_events`
 */
export function toEventMessage(event: OutboxEvent): EventMessage {
  return {
    id: event.id,
    type: event.type,
    occurred_at: event.occurredAt.toISOString(),
    request_id: event.requestId,
    data: event.payload,
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Checks that a consumed body is an event message.
 * @param body the parsed message body
 * @returns the event
 * @throws {NonRetryableError} when the body is not an event message (no retry can fix it)
 */
export function parseEventMessage(body: unknown): EventMessage {
  const event = body as Partial<EventMessage> | null
  const valid =
    typeof event === 'object' &&
    event !== null &&
    typeof event.id === 'string' &&
    UUID.test(event.id) &&
    typeof event.type === 'string' &&
    typeof event.occurred_at === 'string' &&
    (event.request_id === null || typeof event.request_id === 'string') &&
    typeof event.data === 'object' &&
    event.data !== null &&
    !Array.isArray(event.data)
  if (!valid)
    throw new NonRetryableError('message is not an event: {id, type, occurred_at, request_id, data} expected')
  return event as EventMessage
}
