import type { FastifyBaseLogger } from 'fastify'
import type { EventType } from '../services/events.ts'
import type { EventMessage } from '../services/outbox.ts'

/** What a handler gets besides the event. */
export interface EventHandlerContext {
  /** The event's logger: every line carries its `request_id`, `event_id` and `event_type`. */
  log: FastifyBaseLogger
  /** 1 on the first delivery, more on retries. */
  attempt: number
}

/** One consumer of one or more event types. */
export interface EventHandler {
  /**
   * Stable, unique name (e.g. `mail.verification`): with the event id it is the idempotency key, so
   * renaming a handler makes it run again for redelivered events.
   */
  name: string
  /** The queue group it is consumed in (default `default`); one queue per group. */
  group?: string
  /**
   * Does the work. Throwing sends the event to the retry path (then to the DLQ); throw
   * `NonRetryableError` when no retry can succeed.
   */
  handle(event: EventMessage, context: EventHandlerContext): Promise<void>
}

/** The group of handlers registered without one. */
export const DEFAULT_GROUP = 'default'
const HANDLER_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/
const GROUP_NAME = /^[a-z0-9][a-z0-9_-]{0,49}$/

/** Which handlers run for which event types, grouped by the queue that feeds them. */
export class HandlerRegistry {
  /** group -> event type -> handlers, in registration order. */
  readonly #groups = new Map<string, Map<string, EventHandler[]>>()

  /**
   * Registers a handler for an event type.
   * @param type the event type it handles
   * @param handler the handler
   * @returns the registry, for chaining
   * @throws {Error} on an invalid name or group, or the same handler registered twice for a type
   */
  register(type: EventType, handler: EventHandler): this {
    const group = handler.group ?? DEFAULT_GROUP
    if (!HANDLER_NAME.test(handler.name)) throw new Error(`invalid handler name "${handler.name}"`)
    if (!GROUP_NAME.test(group)) throw new Error(`invalid handler group "${group}"`)
    const byType = this.#groups.get(group) ?? new Map<string, EventHandler[]>()
    const handlers = byType.get(type) ?? []
    if (handlers.some((h) => h.name === handler.name)) {
      throw new Error(`handler "${handler.name}" is already registered for ${type}`)
    }
    handlers.push(handler)
    byType.set(type, handlers)
    this.#groups.set(group, byType)
    return this
  }

  /** @returns the groups that have at least one handler */
  groups(): string[] {
    return [...this.#groups.keys()]
  }

  /**
   * @param group a group
   * @returns the event types its queue must be bound to
   */
  typesOf(group: string): string[] {
    return [...(this.#groups.get(group)?.keys() ?? [])]
  }

  /**
   * @param group a group
   * @param type an event type
   * @returns the group's handlers for that type, in registration order
   */
  handlersFor(group: string, type: string): EventHandler[] {
    return this.#groups.get(group)?.get(type) ?? []
  }
}
