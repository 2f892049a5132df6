import type { Logger } from 'pino'
import { ensureFirstSuperuser } from '../services/bootstrap_service.ts'
import type { Settings } from './config.ts'
import { createDatabase, type DatabaseHandle, type StoreMode } from './database.ts'
import { isConnectionFailure } from './errors.ts'

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
  const stopRetrying = new AbortController()
  await prepareDatabase(database, settings, log, stopRetrying.signal)
  return {
    database,
    healthChecks: [{ name: 'database', mode: database.mode, ping: (ms) => database.ping(ms) }],
    async close() {
      stopRetrying.abort()
      await database.close()
    },
  }
}

/** Longest pause between two attempts to reach a database that was down at start. */
const MAX_RETRY_DELAY_MS = 10_000

/**
 * Migrates and creates the first superuser. A database that cannot be reached at start does not stop
 * the process: it starts degraded (`/health` says which dependency is down) and keeps retrying in the
 * background, so services may start in any order. Any other failure (a broken migration) is fatal.
 */
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
  try {
    await prepare()
  } catch (error) {
    if (!isConnectionFailure(error)) throw error
    log.error({ err: error }, 'database unreachable at start: retrying in the background')
    void retryInBackground(prepare, log, signal)
  }
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
      if (!isConnectionFailure(error)) {
        log.fatal({ err: error }, 'database preparation failed')
        return
      }
    }
  }
}
