import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import type { PgTable } from 'drizzle-orm/pg-core'
import pino from 'pino'
import { Connection } from 'rabbitmq-client'
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { deadLetterQueueName, retryQueueName } from '../../src/core/broker_common.ts'
import { createDatabase, type DatabaseHandle, ensureDatabaseExists } from '../../src/core/database.ts'
import { dropDatabase, POSTGRES_SERVER_URL, serviceAvailable } from './services.ts'

/** The RabbitMQ of the tests: `RABBITMQ_URL` when set, else the local default. */
export const RABBITMQ_TEST_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672'

/** Fast reconnects for tests, so a broker coming back is noticed within a fraction of a second. */
export const FAST_RECONNECT = {
  retryLow: 50,
  retryHigh: 200,
  acquireTimeout: 1_000,
  connectionTimeout: 1_000,
}

/** A logger that writes nothing. */
export const silentLog = pino({ level: 'silent' })

/** A name no other test (or run) uses: exchanges and queues live on the shared default vhost. */
export function uniqueName(prefix: string): string {
  return `${prefix}.${randomBytes(5).toString('hex')}`
}

/** A migrated database of one test file and how to dispose of it. */
export interface TestDatabase {
  name: 'PGlite' | 'PostgreSQL'
  /** The PostgreSQL URL of the database (absent for PGlite). */
  url?: string
  database: DatabaseHandle
  close(): Promise<void>
}

/** A fresh, migrated, in-memory PGlite. */
export async function pgliteDatabase(): Promise<TestDatabase> {
  const database = createDatabase({ url: undefined, embeddedDir: 'memory://' })
  await database.migrate()
  return { name: 'PGlite', database, close: () => database.close() }
}

/**
 * A database of this file's own on the PostgreSQL server of `DATABASE_URL` (or the local one),
 * migrated, and dropped at `close()`. Its own, because a relay publishes every unpublished event of
 * its database: sharing one with other test files running at the same time would let their relays
 * take this file's events.
 */
export async function postgresDatabase(): Promise<TestDatabase> {
  const name = `folio_test_events_${randomBytes(4).toString('hex')}`
  const url = Object.assign(new URL(POSTGRES_SERVER_URL), { pathname: `/${name}` }).toString()
  await ensureDatabaseExists(url)
  const database = createDatabase({ url, embeddedDir: '', poolSize: 5 })
  await database.migrate()
  return {
    name: 'PostgreSQL',
    url,
    database,
    async close() {
      await database.close()
      await dropDatabase(POSTGRES_SERVER_URL, name)
    },
  }
}

/** A database the event tests run on. */
export interface DatabaseBackend {
  name: TestDatabase['name']
  /** PostgreSQL only when it answers (in CI its absence fails the file instead). */
  enabled: boolean
  open(): Promise<TestDatabase>
}

/** The event tests' databases: an in-memory PGlite, and a database of their own on PostgreSQL. */
export const DATABASE_BACKENDS: DatabaseBackend[] = [
  { name: 'PGlite', enabled: true, open: pgliteDatabase },
  {
    name: 'PostgreSQL',
    enabled: await serviceAvailable(POSTGRES_SERVER_URL, 'PostgreSQL'),
    open: postgresDatabase,
  },
]

/**
 * Opens a backend's database for the enclosing `describe`, closes it after its tests, and empties
 * `tables` before each test.
 * @returns the open database, for hooks and tests (set once `beforeAll` has run)
 */
export function useTestDatabase(backend: DatabaseBackend, tables: PgTable[]): () => TestDatabase {
  let testDb: TestDatabase | undefined
  beforeAll(async () => {
    testDb = await backend.open()
  })
  afterAll(async () => testDb?.close())
  beforeEach(async () => {
    for (const table of tables) await testDb!.database.db.delete(table)
  })
  return () => testDb!
}

/**
 * Every queue `consume(queue)` declares: the queue, its retry queues and its DLQ.
 * @param queue the consumed queue
 * @param delays the retry delays it was consumed with
 */
export function queueFamily(queue: string, delays: number[]): string[] {
  return [queue, ...[...new Set(delays)].map((d) => retryQueueName(queue, d)), deadLetterQueueName(queue)]
}

/**
 * Deletes test exchanges and queues from the RabbitMQ of the tests.
 * @param exchanges exchange names
 * @param queues queue names
 */
export async function deleteAmqpTopology(exchanges: string[], queues: string[]): Promise<void> {
  const connection = new Connection({ url: RABBITMQ_TEST_URL, ...FAST_RECONNECT })
  connection.on('error', () => {})
  try {
    for (const queue of queues) await connection.queueDelete({ queue }).catch(() => {})
    for (const exchange of exchanges) await connection.exchangeDelete({ exchange }).catch(() => {})
  } finally {
    await connection.close()
  }
}

/** A TCP proxy to RabbitMQ that a test can cut and restore, to play a broker outage. */
export interface TcpProxy {
  /** The AMQP URL through the proxy. */
  url: string
  /** Stops listening and cuts every open connection. */
  stop(): Promise<void>
  /** Listens again on the same port. */
  start(): Promise<void>
}

/** Starts a TCP proxy in front of the tests' RabbitMQ. */
export async function startTcpProxy(): Promise<TcpProxy> {
  const target = new URL(RABBITMQ_TEST_URL)
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  let server: Server | undefined
  const listen = async (port: number) => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 5672), target.hostname)
      track(client)
      track(upstream)
      client.pipe(upstream).pipe(client)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    return (server.address() as { port: number }).port
  }
  const port = await listen(0)
  const url = Object.assign(new URL(RABBITMQ_TEST_URL), {
    hostname: '127.0.0.1',
    port: String(port),
  }).toString()
  return {
    url,
    async stop() {
      const closed = server?.listening ? new Promise((resolve) => server?.close(resolve)) : Promise.resolve()
      for (const socket of sockets) socket.destroy()
      await closed
    },
    async start() {
      if (!server?.listening) await listen(port)
    },
  }
}

/**
 * Polls until `check` returns true.
 * @param check the condition
 * @param what a label for the timeout error
 * @param timeoutMs how long to wait
 */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
