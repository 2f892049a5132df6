import type { Logger } from 'pino'
import type { Settings } from './config.ts'
import { createDatabase, type DatabaseHandle, type StoreMode } from './database.ts'

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
  await database.migrate()
  log.info({ mode: database.mode }, 'database ready')
  return {
    database,
    healthChecks: [{ name: 'database', mode: database.mode, ping: (ms) => database.ping(ms) }],
    async close() {
      await database.close()
    },
  }
}
