import { createConnection } from 'node:net'
import { onMaintenanceDatabase } from '../../src/core/database.ts'

/** Whether the suite runs in CI, where a missing service is a failure, never a skip. */
export const IN_CI = Boolean(process.env.CI)

/** The test database URL when the real PostgreSQL is configured (`DATABASE_URL`), else undefined. */
export const TEST_DATABASE_URL = process.env.DATABASE_URL

/** A PostgreSQL server for tests that need one whatever the mode (catalog comparison, db:init). */
export const POSTGRES_SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/**
 * Whether a TCP service answers. In CI an absent service throws, so the tests needing it fail
 * instead of being skipped.
 *
 * @param url the service URL (host and port are used)
 * @param name the service's name for the message
 */
export async function serviceAvailable(url: string, name: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  const up = await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) }, () => {
      socket.end()
      resolve(true)
    })
    socket.setTimeout(1_000, () => {
      socket.destroy()
      resolve(false)
    })
    socket.on('error', () => resolve(false))
  })
  if (!up && IN_CI) throw new Error(`${name} is required in CI but not reachable at ${hostname}:${port}`)
  if (!up)
    process.stderr.write(`[tests] ${name} not reachable at ${hostname}:${port}: its tests do not run here\n`)
  return up
}

/**
 * Drops a test database, closing whatever is still connected to it.
 * @param serverUrl any database URL of its server
 * @param name the database
 */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await onMaintenanceDatabase(serverUrl, (sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`)
}
