import type { Database } from '../core/database.ts'

/** The event types of API.md "Events". */
export type EventType =
  | 'user.registered'
  | 'user.email_verification_requested'
  | 'user.password_reset_requested'
  | 'user.deleted'
  | 'post.published'
  | 'post.deleted'
  | 'file.deleted'

/**
 * The outbox as services see it: `record` writes an event inside the caller's transaction, `wake`
 * (called after the commit) has the relay publish it at once instead of at its next poll.
 */
export interface EventOutbox {
  record(tx: Database, type: EventType, data: Record<string, string>): Promise<unknown>
  wake(): void
}
