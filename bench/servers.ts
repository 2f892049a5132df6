import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureDatabaseExists } from '../src/core/database.ts'
import { type Child, freePort, killNow, startChild, stopChild, waitForHttp } from './children.ts'

/** The database the service runs on during a benchmark, unless `BENCH_DATABASE_URL` names another. */
export const DEFAULT_BENCH_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/folio_bench'
/** Where the service's log lines go (info level, one per request): bench/results/ is git-ignored. */
export const SERVICE_LOG = new URL('./results/service.log', import.meta.url)

/** A fixed secret (48 bytes), so tokens made in a scenario's setup stay valid for the whole run. */
export const BENCH_JWT_SECRET = 'folio-bench-jwt-secret-not-for-production-use-48'
/** The bcrypt cost the service hashes with during a benchmark: production's (API.md: 12). */
export const BENCH_BCRYPT_ROUNDS = 12
/** Limits high enough never to answer 429, so the limiter's cost is measured but not its refusals. */
const NO_REFUSAL_LIMIT = '100000000'
/** How long a child may take to answer HTTP after it started. */
export const READY_TIMEOUT_MS = 60_000
/** How long a child may take to shut down before it is killed. */
export const STOP_GRACE_MS = 12_000

/** Both servers of a benchmark. */
export interface Servers {
  service: Child
  bare: Child
  databaseUrl: string
  /** Resolves when both answer HTTP. @throws {Error} when either exits or is not ready within a minute */
  ready(): Promise<void>
  /** Stops both children and removes the temporary data folder; safe to call twice. */
  stop(): Promise<void>
  /** Kills both children at once (for an `exit` handler). */
  kill(): void
}

/**
 * The environment of a benchmarked service child.
 *
 * @param port the port it listens on (127.0.0.1)
 * @param dataDir its data folder (embedded stores)
 * @param databaseUrl the bench database
 * @returns the caller's environment with the bench's settings on top
 */
export function serviceEnv(port: number, dataDir: string, databaseUrl: string): NodeJS.ProcessEnv {
  // REDIS_URL, RABBITMQ_URL, S3_* and SMTP_URL come through from the caller's environment when set;
  // when unset the service runs on its embedded stores.
  return {
    ...process.env,
    APP_ENV: 'test',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    JWT_SECRET: BENCH_JWT_SECRET,
    // The production cost, whatever the caller's shell says: logins are measured at their real price.
    BCRYPT_ROUNDS: String(BENCH_BCRYPT_ROUNDS),
    // Keys and events of the benchmark stay apart from other users of a shared Redis or RabbitMQ.
    CACHE_KEY_PREFIX: 'folio-bench:',
    EVENTS_EXCHANGE: 'folio-bench.events',
    EVENTS_QUEUE_PREFIX: 'folio-bench.worker',
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_ANON_PER_MINUTE: NO_REFUSAL_LIMIT,
    RATE_LIMIT_USER_PER_MINUTE: NO_REFUSAL_LIMIT,
    RATE_LIMIT_LOGIN_PER_MINUTE: NO_REFUSAL_LIMIT,
    RATE_LIMIT_SIGNUP_PER_HOUR: NO_REFUSAL_LIMIT,
  }
}

/**
 * The absolute path of a script, relative to `bench/`.
 * @param relative e.g. `../src/main.ts`
 */
export function script(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url))
}

/**
 * Creates the bench database when missing, then starts the service (`node src/main.ts`) and the bare
 * server on free loopback ports; `ready()` waits for both. Both run in a temporary folder, so no
 * `.env` file of the checkout changes what is measured.
 *
 * @returns the started servers
 * @throws {Error} when the database cannot be reached or created
 */
export async function startServers(): Promise<Servers> {
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? DEFAULT_BENCH_DATABASE_URL
  await ensureDatabaseExists(databaseUrl)
  const dataDir = mkdtempSync(join(tmpdir(), 'folio-bench-'))
  mkdirSync(new URL('.', SERVICE_LOG), { recursive: true })
  const log = openSync(SERVICE_LOG, 'w')
  const servicePort = await freePort()
  let barePort = await freePort()
  while (barePort === servicePort) barePort = await freePort()
  const service = startChild({
    name: 'service',
    script: script('../src/main.ts'),
    port: servicePort,
    env: serviceEnv(servicePort, dataDir, databaseUrl),
    cwd: dataDir,
    stdout: log,
  })
  closeSync(log)
  const bare = startChild({
    name: 'bare server',
    script: script('./bare_server.ts'),
    port: barePort,
    env: { ...process.env, BARE_PORT: String(barePort), DATABASE_URL: databaseUrl },
    cwd: dataDir,
    stdout: 'ignore',
  })
  const servers: Servers = {
    service,
    bare,
    databaseUrl,
    async ready() {
      await Promise.all([
        waitForHttp(service, '/health/live', READY_TIMEOUT_MS),
        // The bare server answers 404 to a request naming no scenario: any answer means it listens.
        waitForHttp(bare, '/', READY_TIMEOUT_MS, () => true),
      ])
    },
    async stop() {
      await Promise.all([stopChild(service, STOP_GRACE_MS), stopChild(bare, STOP_GRACE_MS)])
      rmSync(dataDir, { recursive: true, force: true })
    },
    kill() {
      killNow(service)
      killNow(bare)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
  return servers
}
