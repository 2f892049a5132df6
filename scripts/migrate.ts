import { createDatabase } from '../src/core/database.ts'
import { runTask } from './cli.ts'

/** `npm run db:migrate`: applies the pending migrations of `migrations/` to the configured database. */
await runTask('db:migrate', async (settings, log) => {
  const database = createDatabase({ url: settings.databaseUrl, embeddedDir: settings.dataDir })
  try {
    await database.migrate()
    log.info({ mode: database.mode }, 'migrations applied')
  } finally {
    await database.close()
  }
})
