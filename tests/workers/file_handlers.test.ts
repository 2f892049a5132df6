import pino from 'pino'
import { v7 as uuidv7 } from 'uuid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FileRepository } from '../../src/repositories/file_repo.ts'
import type { EventMessage } from '../../src/services/outbox.ts'
import { registerFileHandlers } from '../../src/workers/file_handlers.ts'
import { HandlerRegistry } from '../../src/workers/registry.ts'
import { pgliteDatabase, type TestDatabase } from '../support/events.ts'
import { bodyOf, diskSubject, type StorageSubject } from '../support/storage.ts'

const log = pino({ level: 'silent' })

function fileDeleted(fileId: string, ownerId: string): EventMessage {
  return {
    id: uuidv7(),
    type: 'file.deleted',
    occurred_at: new Date().toISOString(),
    request_id: null,
    data: { file_id: fileId, owner_id: ownerId },
  }
}

describe('file.deleted handler', () => {
  let db: TestDatabase
  let store: StorageSubject
  let repo: FileRepository
  const registry = new HandlerRegistry()

  beforeAll(async () => {
    db = await pgliteDatabase()
    store = await diskSubject()
    await store.storage.ensureBucket()
    repo = new FileRepository(db.database.db)
    registerFileHandlers(registry, { db: db.database.db, storage: store.storage })
  })
  afterAll(async () => {
    await store.close()
    await db.close()
  })

  async function storedFile(ownerId: string) {
    const id = uuidv7()
    const key = `files/${ownerId}/${id}`
    await store.storage.put(key, bodyOf(Buffer.from('bytes')), { contentType: 'text/plain', maxBytes: 100 })
    await repo.create({ id, ownerId, filename: 'a.txt', contentType: 'text/plain', size: 5, objectKey: key })
    return { id, key }
  }

  function handle(event: EventMessage) {
    const [handler] = registry.handlersFor('default', 'file.deleted')
    return handler!.handle(event, { log, attempt: 1 })
  }

  it("removes a deleted file's object, and a second delivery is harmless", async () => {
    const ownerId = uuidv7()
    const { id, key } = await storedFile(ownerId)
    await repo.softDelete(id)
    const event = fileDeleted(id, ownerId)
    await handle(event)
    expect(await store.storage.stat(key)).toBeNull()
    await expect(handle(event)).resolves.toBeUndefined()
  })

  it('leaves the object of a live file alone, and ignores an unknown file', async () => {
    const ownerId = uuidv7()
    const { id, key } = await storedFile(ownerId)
    await handle(fileDeleted(id, ownerId))
    expect(await store.storage.stat(key)).toMatchObject({ size: 5 })
    await expect(handle(fileDeleted(uuidv7(), ownerId))).resolves.toBeUndefined()
  })
})
