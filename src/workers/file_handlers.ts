import type { Database } from '../core/database.ts'
import type { ObjectStorage } from '../core/storage.ts'
import { FileRepository } from '../repositories/file_repo.ts'
import type { HandlerRegistry } from './registry.ts'

/** What the file handlers use. */
export interface FileHandlerDeps {
  db: Database
  storage: ObjectStorage
}

/**
 * Registers the handler removing a deleted file's object from storage. It is idempotent: the key is
 * read from the deleted row (never from the event), a live or unknown file is left alone, and removing
 * an object that is already gone is not an error, so a redelivered event has no second effect.
 *
 * @param registry the registry to fill
 * @param deps the database and the object storage
 */
export function registerFileHandlers(registry: HandlerRegistry, deps: FileHandlerDeps): void {
  const files = new FileRepository(deps.db)

  registry.register('file.deleted', {
    name: 'storage.remove-file-object',
    async handle(event, { log }) {
      const fileId = event.data.file_id
      const file = typeof fileId === 'string' ? await files.getDeleted(fileId) : null
      if (!file) {
        log.warn({ fileId }, 'file.deleted names no deleted file: nothing removed')
        return
      }
      await deps.storage.delete(file.objectKey)
      log.info({ fileId: file.id }, 'file object removed')
    },
  })
}
