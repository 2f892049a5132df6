import type { Logger } from 'pino'
import { ensureFirstSuperuser } from '../services/bootstrap_service.ts'
import { type Broker, createBroker } from './broker.ts'
import { type Cache, createCache } from './cache.ts'
import type { Settings } from './config.ts'
import { createDatabase, type DatabaseHandle, type StoreMode } from './database.ts'
import { isConnectionFailure } from './errors.ts'
import { createMailer, type Mailer } from './mailer.ts'
import { createStorage, type ObjectStorage } from './storage.ts'

/** The name of a dependency as `/health` reports it. */
export type DependencyName = 'database' | 'cache' | 'broker' | 'storage'

/** One dependency's probe for `/health`. */
export interface HealthCheck {
  name: DependencyName
  mode: StoreMode
  /** Resolves when the dependency answers within `timeoutMs`; rejects otherwise. */
  ping(timeoutMs: number): Promise<void>
}

/** Every port of the process, created once from the settings and closed at shutdown. */
export interface Infrastructure {
  database: DatabaseHandle
  cache: Cache
  storage: ObjectStorage
  broker: Broker
  mailer: Mailer
  healthChecks: HealthCheck[]
  /** Closes every port, the database last. */
  close(): Promise<void>
}

/**
 * Creates and starts every port from the settings: real adapters where a URL is configured,
 * embedded ones otherwise. Applies the migrations.
 *
 * @param settings the process settings
 * @param log the root logger
 * @returns the started infrastructure
 */
export async function createInfrastructure(settings: Settings, log: Logger): Promise<Infrastructure> {
  const database = createDatabase({ url: settings.databaseUrl, embeddedDir: settings.dataDir })
  const cache = createCache({
    url: settings.redisUrl,
    keyPrefix: settings.cacheKeyPrefix,
    log: log.child({ component: 'cache' }),
  })
  const storage = createStorage(settings, log.child({ component: 'storage' }))
  const broker = createBroker(settings, log.child({ component: 'broker' }), {
    exchange: settings.eventsExchange,
  })
  const mailer = createMailer(settings, log.child({ component: 'mailer' }))
  const stopRetrying = new AbortController()
  await prepareDatabase(database, settings, log, stopRetrying.signal)
  await retryUntilReady('storage bucket', () => storage.ensureBucket(), log, stopRetrying.signal)
  return {
    database,
    cache,
    storage,
    broker,
    mailer,
    healthChecks: [
      { name: 'database', mode: database.mode, ping: (ms) => database.ping(ms) },
      { name: 'cache', mode: cache.mode, ping: (ms) => cache.ping(ms) },
      { name: 'broker', mode: broker.mode, ping: (ms) => broker.ping(ms) },
      { name: 'storage', mode: storage.mode, ping: (ms) => storage.ping(ms) },
    ],
    async close() {
      stopRetrying.abort()
      await Promise.allSettled([broker.close(), cache.close(), storage.close(), mailer.close()])
      await database.close()
    },
  }
}

/** Longest pause between two attempts to reach a database that was down at start. */
const MAX_RETRY_DELAY_MS = 10_000

/** Migrates and creates the first superuser, retrying in the background while the database is down. */
async function prepareDatabase(
  database: DatabaseHandle,
  settings: Settings,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  const prepare = async () => {
    await database.migrate()
    await ensureFirstSuperuser(database.db, settings, log)
    log.info({ mode: database.mode }, 'database ready')
  }
  await retryUntilReady('database', prepare, log, signal)
}

/**
 * Runs a start-up step; when its dependency cannot be reached, the process starts degraded (`/health`
 * says what is down) and the step is retried in the background, so services may start in any order.
 * Any other failure is fatal.
 */
async function retryUntilReady(
  what: string,
  step: () => Promise<void>,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  try {
    await step()
  } catch (error) {
    if (!isUnreachable(error)) throw error
    log.error({ err: error }, `${what} unreachable at start: retrying in the background`)
    void retryInBackground(step, log, signal)
  }
}

function isUnreachable(error: unknown): boolean {
  return isConnectionFailure(error) || (error as { statusCode?: unknown }).statusCode === 503
}

async function retryInBackground(
  prepare: () => Promise<void>,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  for (let delay = 500; ; delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
    await new Promise((resolve) => setTimeout(resolve, delay).unref())
    if (signal.aborted) return
    try {
      await prepare()
      return
    } catch (error) {
      if (!isUnreachable(error)) {
        log.fatal({ err: error }, 'start-up step failed')
        return
      }
    }
  }
}
