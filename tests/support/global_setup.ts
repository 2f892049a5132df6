import { createDatabase, ensureDatabaseExists } from '../../src/core/database.ts'

/**
 * With a real PostgreSQL configured, makes sure the test database exists and is migrated once
 * before the files run (each app migrates again at build, which is then a no-op).
 */
export default async function setup(): Promise<void> {
  const url = process.env.DATABASE_URL
  if (!url) return
  await ensureDatabaseExists(url)
  const database = createDatabase({ url, embeddedDir: '' })
  try {
    await database.migrate()
  } finally {
    await database.close()
  }
}
