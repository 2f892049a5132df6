import type { Settings } from '../core/config.ts'
import type { Database } from '../core/database.ts'
import type { Mailer } from '../core/mailer.ts'
import type { ObjectStorage } from '../core/storage.ts'
import { registerFileHandlers } from './file_handlers.ts'
import { registerIdentityHandlers } from './identity_handlers.ts'
import { HandlerRegistry } from './registry.ts'

/** What the application's event handlers may use. */
export interface EventHandlerDeps {
  db: Database
  settings: Settings
  mailer: Mailer
  /** For the object-removal handlers of deleted files. */
  storage: ObjectStorage
}

/**
 * The application's event handlers: the worker consumes with them, and so does the API process when
 * it runs the consumers itself (in-process broker). Each feature registers its handlers here.
 *
 * @param deps what the handlers use
 * @returns the filled registry
 */
export function createHandlerRegistry(deps: EventHandlerDeps): HandlerRegistry {
  const registry = new HandlerRegistry()
  registerIdentityHandlers(registry, { db: deps.db, mailer: deps.mailer, settings: deps.settings })
  registerFileHandlers(registry, { db: deps.db, storage: deps.storage })
  return registry
}
