import type { Logger } from 'pino'
import { createBroker } from './core/broker.ts'
import { loadSettings, type Settings, SettingsError } from './core/config.ts'
import { createDatabase, type DatabaseHandle } from './core/database.ts'
import { isConnectionFailure } from './core/errors.ts'
import { createLogger } from './core/logging.ts'
import { createMailer } from './core/mailer.ts'
import { createStorage } from './core/storage.ts'
import { createHandlerRegistry } from './workers/handlers.ts'
import { startEventPipeline } from './workers/pipeline.ts'

/** How long shutdown may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 10_000

function exitWithProblems(problems: string[]): never {
  for (const problem of problems) process.stderr.write(`config error: ${problem}\n`)
  process.exit(1)
}

/** Settings for the worker, which needs the real broker and database: it shares them with the API. */
function workerSettings(): Settings {
  let settings: Settings
  try {
    settings = loadSettings()
  } catch (error) {
    if (error instanceof SettingsError) exitWithProblems(error.problems)
    throw error
  }
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
    { relay: false, consumer: { queuePrefix: settings.eventsQueuePrefix } },
  )
  logger.info({ groups: registry.groups() }, 'worker started')

  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: finishing in-flight events')
    setTimeout(() => {
      logger.error('shutdown deadline passed: exiting anyway')
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS).unref()
    const close = async () => {
      await pipeline.stop()
      await broker.close()
      await Promise.allSettled([mailer.close(), storage.close()])
      await database.close()
    }
    close().then(
      () => {
        logger.info('shutdown complete')
        logger.flush()
        process.exit(0)
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

main().catch((error: unknown) => {
  process.stderr.write(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
