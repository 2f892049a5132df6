import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { buildApp } from '../../src/app.ts'
import { DEFAULT_CONSUME_OPTIONS } from '../../src/core/broker_common.ts'
import { loadSettings, type Settings } from '../../src/core/config.ts'
import { ensureDatabaseExists } from '../../src/core/database.ts'
import { createHandlerRegistry } from '../../src/workers/handlers.ts'
import { startEventPipeline } from '../../src/workers/pipeline.ts'
import { deleteAmqpTopology, queueFamily } from './events.ts'
import { dropDatabase } from './services.ts'

/** Variables of the test runs; the service URLs come from the environment when set (real mode). */
type Env = Record<string, string | undefined>

/**
 * Settings for a test: `APP_ENV=test`, cheap bcrypt, a fresh data folder for embedded stores, and the
 * process environment's service URLs (so `npm test` runs embedded or on the real services).
 *
 * @param overrides variables to set or unset (undefined) for this test
 */
export function testSettings(overrides: Env = {}): Settings {
  const dataDir = mkdtempSync(join(tmpdir(), 'folio-test-'))
  const run = randomBytes(4).toString('hex')
  const env: Env = {
    // Each app has its own cache keys, exchange and queues, so parallel test files never share state.
    CACHE_KEY_PREFIX: `folio-test:${run}:`,
    EVENTS_EXCHANGE: `folio-test.${run}.events`,
    EVENTS_QUEUE_PREFIX: `folio-test.${run}`,
    APP_ENV: 'test',
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    RABBITMQ_URL: process.env.RABBITMQ_URL,
    S3_ENDPOINT: process.env.S3_ENDPOINT,
    S3_ACCESS_KEY: process.env.S3_ACCESS_KEY,
    S3_SECRET_KEY: process.env.S3_SECRET_KEY,
    S3_BUCKET: process.env.S3_BUCKET,
    SMTP_URL: process.env.SMTP_URL,
    ...overrides,
  }
  // A test app reads no `.env` file: only what the test sets.
  return loadSettings(env, dataDir)
}

/** A built app and what it needs cleaned up. */
export interface TestApp {
  app: FastifyInstance
  settings: Settings
  close(): Promise<void>
}

/**
 * Builds the app exactly as production does, on test settings.
 *
 * @param overrides variables for this app
 * @param logger an optional logger (e.g. one that captures lines)
 */
export async function createTestApp(overrides: Env = {}, logger?: pino.Logger): Promise<TestApp> {
  // On a real PostgreSQL each app gets its own database: its outbox relay publishes every unpublished
  // event of the database, so apps sharing one would take each other's events.
  const ownDatabase =
    process.env.DATABASE_URL && !('DATABASE_URL' in overrides)
      ? Object.assign(new URL(process.env.DATABASE_URL), {
          pathname: `/folio_test_${randomBytes(6).toString('hex')}`,
        }).toString()
      : undefined
  if (ownDatabase) await ensureDatabaseExists(ownDatabase)
  const settings = testSettings(ownDatabase ? { DATABASE_URL: ownDatabase, ...overrides } : overrides)
  const app = await buildApp(settings, logger ? { logger } : {})
  const registry = createHandlerRegistry({
    db: app.infra.database.db,
    settings,
    mailer: app.infra.mailer,
    storage: app.infra.storage,
  })
  // With RabbitMQ the API only relays events; the worker's consumers run here, as `npm run worker` would.
  const worker =
    app.infra.broker.mode === 'external'
      ? await startEventPipeline(
          {
            database: app.infra.database,
            broker: app.infra.broker,
            log: pino({ level: 'silent' }),
            registry,
          },
          { relay: false, consumer: { queuePrefix: settings.eventsQueuePrefix } },
        )
      : undefined
  return {
    app,
    settings,
    async close() {
      await worker?.stop()
      await app.close()
      if (ownDatabase) await dropDatabase(ownDatabase, new URL(ownDatabase).pathname.slice(1))
      if (app.infra.broker.mode === 'external') {
        const queues = registry.groups().map((group) => `${settings.eventsQueuePrefix}.${group}`)
        const delays = DEFAULT_CONSUME_OPTIONS.retryDelaysMs
        await deleteAmqpTopology(
          [settings.eventsExchange],
          queues.flatMap((q) => queueFamily(q, delays)),
        )
      }
      rmSync(settings.dataDir, { recursive: true, force: true })
    },
  }
}

/** A logger that keeps every line it writes, parsed, for assertions on logs. */
export function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = pino(
    { level: 'info' },
    {
      write(chunk: string) {
        lines.push(JSON.parse(chunk) as Record<string, unknown>)
      },
    },
  )
  return { logger, lines }
}
