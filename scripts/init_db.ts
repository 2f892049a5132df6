import { createDatabase, ensureDatabaseExists } from '../src/core/database.ts'
import { ensureFirstSuperuser } from '../src/services/bootstrap_service.ts'
import { runTask } from './cli.ts'

/**
 * `npm run db:init`: creates the database when it is missing, applies the migrations, and creates the
 * first superuser from `FIRST_SUPERUSER_EMAIL` / `FIRST_SUPERUSER_PASSWORD`.
 */
await runTask('db:init', async (settings, log) => {
  if (settings.databaseUrl && (await ensureDatabaseExists(settings.databaseUrl))) {
    log.info('database created')
  }
  const database = createDatabase({ url: settings.databaseUrl, embeddedDir: settings.dataDir })
  try {
    await database.migrate()
    log.info({ mode: database.mode }, 'migrations applied')
    const created = await ensureFirstSuperuser(database.db, settings, log)
    if (!created && settings.firstSuperuserEmail) log.info('first superuser already exists')
  } finally {
    await database.close()
  }
})
