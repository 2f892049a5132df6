import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDatabase, type DatabaseHandle } from '../../src/core/database.ts'

/**
 * The database of a test file: the real PostgreSQL when `DATABASE_URL` is set, else a fresh PGlite.
 * Migrated and ready.
 */
export async function testDatabase(): Promise<DatabaseHandle> {
  const database = createDatabase({
    url: process.env.DATABASE_URL,
    embeddedDir: mkdtempSync(join(tmpdir(), 'folio-db-')),
  })
  await database.migrate()
  return database
}
