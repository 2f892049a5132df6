import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { buildApp } from '../../src/app.ts'
import { loadSettings, type Settings } from '../../src/core/config.ts'

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
  const env: Env = {
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
  const settings = testSettings(overrides)
  const app = await buildApp(settings, logger ? { logger } : {})
  return {
    app,
    settings,
    async close() {
      await app.close()
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
