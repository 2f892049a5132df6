import { randomUUID } from 'node:crypto'
import { readdirSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type postgres from 'postgres'

/** The bare server routes a request to a scenario's handler by this header (the service never sees it). */
export const SCENARIO_HEADER = 'x-bench-scenario'

/** What is sent to both servers; `setup` may replace any part of it. */
export interface RequestSpec {
  path: string
  headers?: Record<string, string>
  /** A string is sent as is; anything else as JSON with `content-type: application/json`. */
  body?: unknown
  /**
   * Makes one server's request sequence, for a load that must vary (ids to rotate, unique titles): the
   * function it returns gives, before each load request, the path and/or the encoded body to send
   * instead. The bare server and the service each get a sequence of their own, kept across their runs.
   */
  sequence?: () => () => { path?: string; body?: string }
}

/** What a scenario's `setup` may use: the running service and its database. */
export interface SetupContext {
  /** `http://127.0.0.1:<port>` of the service. */
  serviceUrl: string
  /** The `folio_bench` database the service runs on. */
  databaseUrl: string
  /** One request to the service, body parsed as JSON when it is JSON. */
  request(method: string, path: string, spec?: Omit<RequestSpec, 'path'>): Promise<ServiceReply>
}

/** A reply to {@link SetupContext.request}. */
export interface ServiceReply {
  status: number
  headers: Headers
  body: unknown
}

/** Where the bare server's handlers find shared resources. */
export interface BareContext {
  /** A postgres.js client on the bench database, as many connections as the service's pool (made on first use). */
  sql(): postgres.Sql
  /** The service's version, as `/health` reports it. */
  version: string
  /** When the bare server started (ms since the epoch). */
  startedAt: number
  /** `external` when the service gets a URL for that dependency, else `embedded`. */
  modes: Record<'database' | 'cache' | 'broker' | 'storage', 'external' | 'embedded'>
}

/** The reference implementation of a scenario's route, without any framework. */
export type BareHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: BareContext,
) => void | Promise<void>

/**
 * Compares two configurations of the service instead of the service and the bare server: the runner
 * starts two more service children for the scenario (`env` on top of the bench's for both, then
 * `baselineEnv` on the baseline), runs `setup` against the subject, and stops both afterwards.
 */
export interface ServiceBaseline {
  /** How the report names the baseline child (in the `bare` row), e.g. `limiter off`. */
  label: string
  /** How the report names the subject child (in the `service` row), e.g. `limiter on`. */
  subjectLabel: string
  /** Environment of both children, on top of the bench's (e.g. a real `REDIS_URL`). */
  env: Record<string, string>
  /** What the baseline child changes, e.g. `{ RATE_LIMIT_ENABLED: 'false' }`. */
  baselineEnv: Record<string, string>
}

/**
 * One benchmarked request. A file in `bench/scenarios/` default-exports one; the runner and the bare
 * server find them there, so a new scenario is a new file.
 */
export interface Scenario extends RequestSpec {
  /** Unique id, used by `BENCH_SCENARIOS` and in the results. */
  name: string
  method: string
  /** Lowest acceptable service/bare req/s ratio; printed, never fatal. */
  target?: number
  /** Highest acceptable service/bare p99 latency ratio; printed, never fatal. */
  p99RatioMax?: number
  /** Connections of each load run, when not the runner's default (e.g. fewer for a bcrypt-bound route). */
  connections?: number
  /**
   * After each run, send one more request and await it: it queues behind the work the run left
   * (e.g. bcrypt jobs of abandoned requests), so the next run starts on an idle server.
   */
  drain?: boolean
  /** Shortest measured run in seconds, for a route too slow to sample in `BENCH_DURATION`. */
  minDurationS?: number
  /** Longest `setup` may take in seconds, when not the runner's minute (e.g. to seed a data set once). */
  setupTimeoutS?: number
  /** Runs once against the live service before the load, e.g. to create a user and log in. */
  setup?(ctx: SetupContext): Promise<Partial<RequestSpec> | undefined>
  /** What the bare server answers for this scenario; required unless `baseline` is set. */
  bare?: BareHandler
  /** Measure against a second configuration of the service instead of the bare server. */
  baseline?: ServiceBaseline
}

/** The headers every service response carries (API.md "Conventions"), for the bare handlers to copy. */
const SERVICE_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  vary: 'Origin',
}

/**
 * Sends a JSON body with the headers the service sends (security headers, a fresh `x-request-id`).
 *
 * @param res the response
 * @param status the HTTP status
 * @param body the value to serialise
 * @param headers more headers the route sends (e.g. `set-cookie`)
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  const bytes = Buffer.from(JSON.stringify(body))
  res.writeHead(status, {
    ...SERVICE_HEADERS,
    ...headers,
    'x-request-id': randomUUID(),
    'content-type': 'application/json; charset=utf-8',
    'content-length': bytes.length,
  })
  res.end(bytes)
}

/**
 * The context a scenario's `setup` runs with: requests to one service (10 s each, JSON parsed).
 *
 * @param serviceUrl `http://127.0.0.1:<port>` of the service
 * @param databaseUrl the database it runs on
 * @returns the context
 */
export function createSetupContext(serviceUrl: string, databaseUrl: string): SetupContext {
  return {
    serviceUrl,
    databaseUrl,
    async request(method, path, spec = {}) {
      const { headers, body } = encodeRequest({ path, ...spec })
      const reply = await fetch(`${serviceUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(10_000),
      })
      const text = await reply.text()
      const isJson = reply.headers.get('content-type')?.includes('json') ?? false
      return { status: reply.status, headers: reply.headers, body: isJson && text ? JSON.parse(text) : text }
    },
  }
}

/**
 * Serialises a scenario body the way it goes on the wire.
 *
 * @param spec the request
 * @returns the headers (with a content type for JSON) and the body bytes
 */
export function encodeRequest(spec: RequestSpec): { headers: Record<string, string>; body?: string } {
  const headers = { ...spec.headers }
  if (spec.body === undefined) return { headers }
  if (typeof spec.body === 'string') return { headers, body: spec.body }
  return { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(spec.body) }
}

function assertScenario(value: unknown, file: string): asserts value is Scenario {
  const s = value as Partial<Scenario> | undefined
  const ok =
    typeof s?.name === 'string' &&
    typeof s.method === 'string' &&
    typeof s.path === 'string' &&
    (typeof s.bare === 'function' || typeof s.baseline === 'object')
  if (!ok)
    throw new Error(
      `bench/scenarios/${file}: default export is not a scenario (name, method, path, bare or baseline)`,
    )
}

/**
 * Imports every scenario of `bench/scenarios/`, in file-name order.
 *
 * @param filter comma-separated names to keep (all when empty)
 * @returns the scenarios
 * @throws {Error} on a malformed scenario, a duplicate name, or a filter naming no scenario
 */
export async function loadScenarios(filter = ''): Promise<Scenario[]> {
  const folder = new URL('./scenarios/', import.meta.url)
  const files = readdirSync(folder)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()
  const scenarios: Scenario[] = []
  for (const file of files) {
    const module = (await import(new URL(file, folder).href)) as { default?: unknown }
    const scenario = module.default
    assertScenario(scenario, file)
    if (scenarios.some((s) => s.name === scenario.name)) {
      throw new Error(`bench/scenarios/${file}: duplicate scenario name "${scenario.name}"`)
    }
    scenarios.push(scenario)
  }
  const wanted = filter
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
  const unknown = wanted.filter((n) => !scenarios.some((s) => s.name === n))
  if (unknown.length > 0) throw new Error(`BENCH_SCENARIOS names unknown scenarios: ${unknown.join(', ')}`)
  return wanted.length === 0 ? scenarios : scenarios.filter((s) => wanted.includes(s.name))
}
