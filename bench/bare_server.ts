import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import postgres from 'postgres'
import { type BareContext, type BareHandler, loadScenarios, SCENARIO_HEADER, sendJson } from './scenario.ts'

/**
 * The reference server the benchmarks compare the service against: plain `node:http`, no framework,
 * answering each scenario with the bytes the service would send. Run by `bench/run.ts` as a child
 * process with `BARE_PORT` and `DATABASE_URL`; it routes on the `x-bench-scenario` header.
 */

/** Fastify's default, so both servers send the same `Keep-Alive` header. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000
/** The service's pool size (`createDatabase`'s default). */
const POOL_SIZE = 10

function modeOf(variable: string): 'external' | 'embedded' {
  return process.env[variable] ? 'external' : 'embedded'
}

function bareContext(): BareContext & { close(): Promise<void> } {
  let sql: postgres.Sql | undefined
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return {
    sql() {
      sql ??= postgres(String(process.env.DATABASE_URL), { max: POOL_SIZE, onnotice: () => {} })
      return sql
    },
    version: pkg.version,
    startedAt: Date.now(),
    modes: {
      database: modeOf('DATABASE_URL'),
      cache: modeOf('REDIS_URL'),
      broker: modeOf('RABBITMQ_URL'),
      storage: modeOf('S3_ENDPOINT'),
    },
    close: async () => {
      await sql?.end({ timeout: 1 })
    },
  }
}

/** The bare handler registry: scenario name to handler, from `bench/scenarios/`. */
async function loadRegistry(): Promise<Map<string, BareHandler>> {
  const scenarios = await loadScenarios()
  return new Map(scenarios.flatMap((s) => (s.bare ? [[s.name, s.bare] as const] : [])))
}

async function main(): Promise<void> {
  const port = Number(process.env.BARE_PORT)
  if (!Number.isInteger(port) || port <= 0) throw new Error('BARE_PORT must be a port number')
  const registry = await loadRegistry()
  const ctx = bareContext()
  const server = createServer((req, res) => {
    const handler = registry.get(String(req.headers[SCENARIO_HEADER]))
    if (!handler) return sendJson(res, 404, { code: 404, message: 'Unknown bench scenario', detail: null })
    Promise.resolve(handler(req, res, ctx)).catch((error: unknown) => {
      process.stderr.write(`bare handler failed: ${String(error)}\n`)
      if (!res.headersSent) sendJson(res, 500, { code: 500, message: 'Internal Server Error', detail: null })
    })
  })
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
  server.listen(port, '127.0.0.1')
  const stop = () => {
    server.closeAllConnections()
    server.close(() => void ctx.close().finally(() => process.exit(0)))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((error: unknown) => {
  process.stderr.write(`bare server: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
