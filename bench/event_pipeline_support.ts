import { sql } from 'drizzle-orm'
import { Connection } from 'rabbitmq-client'
import { DEFAULT_CONSUME_OPTIONS } from '../src/core/broker.ts'
import { deadLetterQueueName, retryQueueName } from '../src/core/broker_common.ts'
import {
  createDatabase,
  type Database,
  type DatabaseHandle,
  ensureDatabaseExists,
  onMaintenanceDatabase,
} from '../src/core/database.ts'

/** The database the pipeline measurement creates, and drops when done. */
export const EVENTS_DATABASE = 'folio_bench_events'

/** Pipeline settings the measurement can vary, read from the environment. */
export interface PipelineTuning {
  /** Events per relay transaction (`BENCH_EVENTS_BATCH`, the relay's default 200). */
  relayBatch: number
  /** Consumer prefetch (`BENCH_EVENTS_PREFETCH`; absent: the broker port's default). */
  prefetch: number | undefined
  /** Connections of the database pool (`BENCH_EVENTS_POOL`, the service's default 10). */
  poolSize: number
}

function positiveInt(name: string): number | undefined {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return undefined
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer (got "${raw}")`)
  return value
}

/** @returns the tuning of this run, defaults where the environment is silent */
export function readTuning(): PipelineTuning {
  return {
    relayBatch: positiveInt('BENCH_EVENTS_BATCH') ?? 200,
    prefetch: positiveInt('BENCH_EVENTS_PREFETCH'),
    poolSize: positiveInt('BENCH_EVENTS_POOL') ?? 10,
  }
}

async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await onMaintenanceDatabase(serverUrl, (sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`)
}

/**
 * A fresh, migrated {@link EVENTS_DATABASE} on the server of the bench database (a leftover of an
 * interrupted run is dropped first).
 * @param benchDatabaseUrl the bench database's URL
 * @param poolSize connections of its pool
 * @returns the database, and `drop()` to close and drop it
 */
export async function createEventsDatabase(
  benchDatabaseUrl: string,
  poolSize: number,
): Promise<{ database: DatabaseHandle; drop(): Promise<void> }> {
  const serverUrl = Object.assign(new URL(benchDatabaseUrl), { pathname: '/postgres' }).toString()
  const url = Object.assign(new URL(benchDatabaseUrl), { pathname: `/${EVENTS_DATABASE}` }).toString()
  await dropDatabase(serverUrl, EVENTS_DATABASE)
  await ensureDatabaseExists(url)
  const database = createDatabase({ url, embeddedDir: '', poolSize })
  try {
    await database.migrate()
  } catch (error) {
    await database.close()
    await dropDatabase(serverUrl, EVENTS_DATABASE)
    throw error
  }
  return {
    database,
    async drop() {
      await database.close().catch(() => {})
      await dropDatabase(serverUrl, EVENTS_DATABASE)
    },
  }
}

/**
 * Deletes the exchange and every queue a consumer of `queue` declared (retry queues, DLQ).
 * @param url the AMQP URL
 * @param exchanges the exchanges
 * @param queue the consumed queue
 */
export async function deleteTopology(url: string, exchanges: string[], queue: string): Promise<void> {
  const delays = [...new Set(DEFAULT_CONSUME_OPTIONS.retryDelaysMs)]
  const queues = [queue, ...delays.map((d) => retryQueueName(queue, d)), deadLetterQueueName(queue)]
  const connection = new Connection({ url, retryLow: 50, retryHigh: 200, connectionTimeout: 2_000 })
  connection.on('error', () => {})
  try {
    for (const name of queues) await connection.queueDelete({ queue: name }).catch(() => {})
    for (const exchange of exchanges) await connection.exchangeDelete({ exchange }).catch(() => {})
  } finally {
    await connection.close()
  }
}

/**
 * Where the time went, from the database's own timestamps (ms after the first event was recorded):
 * `published_at` is the relay transaction's start (so distinct values count its batches),
 * `processed_at` when the ledger marked the event handled.
 * @param db the measurement's database
 */
export async function pipelineStats(db: Database): Promise<Record<string, number>> {
  const ms = (expr: string) => `extract(epoch FROM ${expr}) * 1000`
  const result = await db.execute(
    sql.raw(`
    WITH t0 AS (SELECT min(occurred_at) AS t FROM outbox_events),
    lag AS (
      SELECT ${ms('p.processed_at - o.occurred_at')} AS ms
      FROM outbox_events o JOIN processed_events p ON p.event_id = o.id)
    SELECT
      (SELECT ${ms('min(published_at) - (SELECT t FROM t0)')} FROM outbox_events) AS "firstPublishMs",
      (SELECT ${ms('max(published_at) - (SELECT t FROM t0)')} FROM outbox_events) AS "lastPublishMs",
      (SELECT count(DISTINCT published_at) FROM outbox_events) AS "relayBatches",
      (SELECT ${ms('max(processed_at) - (SELECT t FROM t0)')} FROM processed_events) AS "lastHandledMs",
      (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM lag) AS "lagP50Ms",
      (SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) FROM lag) AS "lagP99Ms"`),
  )
  // The bench database is PostgreSQL: postgres.js answers with the rows themselves.
  const row = (result as unknown as Record<string, unknown>[])[0] ?? {}
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, Number(value)]))
}
