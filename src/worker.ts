import type { Logger } from 'pino'
import { createBroker } from './core/broker.ts'
import type { Settings } from './core/config.ts'
import { createDatabase, type DatabaseHandle } from './core/database.ts'
import { isConnectionFailure } from './core/errors.ts'
import { createLogger } from './core/logging.ts'
import { createMailer } from './core/mailer.ts'
import { exitWithProblems, loadSettingsOrExit, runMain, stopOnSignals } from './core/process.ts'
import { createStorage } from './core/storage.ts'
import { createHandlerRegistry } from './workers/handlers.ts'
import { startEventPipeline } from './workers/pipeline.ts'

/** Settings for the worker, which needs the real broker and database: it shares them with the API. */
function workerSettings(): Settings {
  const settings = loadSettingsOrExit()
  const problems: string[] = []
  if (!settings.rabbitmqUrl) {
    problems.push(
      'RABBITMQ_URL is required by the worker (with the in-process broker the API runs the consumers)',
    )
  }
  if (!settings.databaseUrl) {
    problems.push('DATABASE_URL is required by the worker (the embedded database belongs to the API process)')
  }
  if (problems.length > 0) exitWithProblems(problems)
  return settings
}

/** Migrates when the database answers; when it does not, the handlers' retries wait for it. */
async function prepareDatabase(database: DatabaseHandle, log: Logger): Promise<void> {
  try {
    await database.migrate()
  } catch (error) {
    if (!isConnectionFailure(error)) throw error
    log.error({ err: error }, 'database unreachable at start: events are retried until it is back')
  }
}

async function main(): Promise<void> {
  const settings = workerSettings()
  const logger = createLogger(settings)
  const database = createDatabase({ url: settings.databaseUrl, embeddedDir: settings.dataDir })
  await prepareDatabase(database, logger)
  const broker = createBroker(settings, logger.child({ component: 'broker' }), {
    exchange: settings.eventsExchange,
  })
  const mailer = createMailer(settings, logger.child({ component: 'mailer' }))
  const storage = createStorage(settings, logger.child({ component: 'storage' }))
  const registry = createHandlerRegistry({ db: database.db, settings, mailer, storage })
  const pipeline = await startEventPipeline(
    { database, broker, log: logger, registry },
    {
      relay: false,
      consumer: { queuePrefix: settings.eventsQueuePrefix, prefetch: settings.workerPrefetch },
    },
  )
  logger.info({ groups: registry.groups() }, 'worker started')

  stopOnSignals(logger, 'in-flight events', async () => {
    await pipeline.stop()
    await broker.close()
    await Promise.allSettled([mailer.close(), storage.close()])
    await database.close()
  })
}

runMain(main)
