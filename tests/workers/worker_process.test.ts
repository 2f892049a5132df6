import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CONSUME_OPTIONS } from '../../src/core/broker.ts'
import {
  deleteAmqpTopology,
  postgresDatabase,
  queueFamily,
  RABBITMQ_TEST_URL,
  type TestDatabase,
  uniqueName,
  waitUntil,
} from '../support/events.ts'
import { POSTGRES_SERVER_URL, serviceAvailable } from '../support/services.ts'

const WORKER = fileURLToPath(new URL('../../src/worker.ts', import.meta.url))

const [pgUp, rabbitUp] = await Promise.all([
  serviceAvailable(POSTGRES_SERVER_URL, 'PostgreSQL'),
  serviceAvailable(RABBITMQ_TEST_URL, 'RabbitMQ'),
])

/** Starts `npm run worker` with exactly these variables, in a folder without `.env` files. */
function startWorker(env: Record<string, string | undefined>) {
  const cwd = mkdtempSync(join(tmpdir(), 'folio-worker-'))
  const child = spawn(process.execPath, [WORKER], {
    cwd,
    env: { PATH: process.env.PATH, APP_ENV: 'test', LOG_LEVEL: 'info', DATA_DIR: cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = { stdout: '', stderr: '' }
  child.stdout.on('data', (chunk) => {
    output.stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    output.stderr += chunk
  })
  return { child, output, exited: once(child, 'exit') as Promise<[number | null, string | null]> }
}

describe('npm run worker', () => {
  it('exits 1 naming RABBITMQ_URL and DATABASE_URL when they are not set', async () => {
    const { output, exited } = startWorker({})
    const [code] = await exited
    expect(code).toBe(1)
    const lines = output.stderr.trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^config error: RABBITMQ_URL is required by the worker/)
    expect(lines[1]).toMatch(/^config error: DATABASE_URL is required by the worker/)
  })

  it('exits 1 with one line per refused variable on invalid settings', async () => {
    const { output, exited } = startWorker({ APP_ENV: 'production', PORT: 'nope' })
    const [code] = await exited
    expect(code).toBe(1)
    const lines = output.stderr.trim().split('\n')
    expect(lines.length).toBeGreaterThan(3)
    expect(lines.every((l) => l.startsWith('config error: '))).toBe(true)
    expect(lines.some((l) => l.includes('PORT'))).toBe(true)
  })

  describe.runIf(pgUp && rabbitUp)('with PostgreSQL and RabbitMQ', () => {
    const exchange = uniqueName('test.events')
    const queuePrefix = uniqueName('test.worker')
    let testDb: TestDatabase

    beforeAll(async () => {
      testDb = await postgresDatabase()
    })
    afterAll(async () => {
      await testDb?.close()
      const queues = queueFamily(`${queuePrefix}.default`, DEFAULT_CONSUME_OPTIONS.retryDelaysMs)
      await deleteAmqpTopology([exchange], queues)
    })

    it('starts, and on SIGTERM stops consuming, closes and exits 0', async () => {
      const { child, output, exited } = startWorker({
        DATABASE_URL: testDb.url,
        RABBITMQ_URL: RABBITMQ_TEST_URL,
        EVENTS_EXCHANGE: exchange,
        EVENTS_QUEUE_PREFIX: queuePrefix,
      })
      await waitUntil(
        () => output.stdout.includes('"worker started"') || child.exitCode !== null,
        'the worker',
      )
      expect(child.exitCode, output.stdout + output.stderr).toBeNull()
      const stopping = Date.now()
      child.kill('SIGTERM')
      const [code] = await exited
      expect(code).toBe(0)
      expect(Date.now() - stopping).toBeLessThan(10_000)
      expect(output.stdout).toContain('"shutdown complete"')
      // It consumed the application's handler queue on the configured exchange.
      expect(output.stdout).toContain(`"queue":"${queuePrefix}.default"`)
    })
  })
})
