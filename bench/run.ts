import { cpus, loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { type LoadShape, type RunFigures, runLoad, summarise, type WireRequest } from './load.ts'
import { type BenchReport, judge, printTable, type ScenarioResult, writeReport } from './report.ts'
import {
  encodeRequest,
  loadScenarios,
  type RequestSpec,
  SCENARIO_HEADER,
  type Scenario,
  type SetupContext,
} from './scenario.ts'
import { type Servers, startServers } from './servers.ts'

/**
 * `npm run bench`: measures each scenario of `bench/scenarios/` on the service and on the bare
 * `node:http` server, alternating them, and prints and saves the medians.
 *
 * Environment: `BENCH_DURATION` (seconds per measured run, default 10), `BENCH_SCENARIOS`
 * (comma-separated names, default all), `BENCH_DATABASE_URL` (default the local `folio_bench`).
 */

const CONNECTIONS = 50
const PIPELINING = 1
const WARMUP_S = 2
/** Measured runs per server and scenario, alternating bare and service. */
const ROUNDS = 2
const SETUP_TIMEOUT_MS = 60_000
/** Start-up, shutdown and per-run slack the watchdog allows on top of the measured time. */
const FIXED_BUDGET_S = 120
const PER_RUN_SLACK_S = 5
const RESULTS_FILE = new URL('./results/latest.json', import.meta.url)

function readDuration(): number {
  const raw = process.env.BENCH_DURATION ?? '10'
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1 || value > 300) {
    throw new Error(`BENCH_DURATION must be a whole number of seconds, 1 to 300 (got "${raw}")`)
  }
  return value
}

function setupContext(servers: Servers): SetupContext {
  return {
    serviceUrl: servers.service.url,
    databaseUrl: servers.databaseUrl,
    async request(method, path, spec = {}) {
      const { headers, body } = encodeRequest({ path, ...spec })
      const reply = await fetch(`${servers.service.url}${path}`, {
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

/** The requests both servers get: the scenario's, as its setup amended it. */
async function wireRequests(scenario: Scenario, servers: Servers) {
  let spec: RequestSpec = scenario
  if (scenario.setup) {
    const setup = scenario.setup(setupContext(servers))
    const amended = await Promise.race([
      setup,
      sleep(SETUP_TIMEOUT_MS, undefined, { ref: false }).then(() =>
        Promise.reject(new Error(`setup took over ${SETUP_TIMEOUT_MS} ms`)),
      ),
    ])
    spec = { path: scenario.path, headers: scenario.headers, body: scenario.body, ...amended }
  }
  const { headers, body } = encodeRequest(spec)
  const service: WireRequest = {
    method: scenario.method,
    path: spec.path,
    headers,
    ...(body === undefined ? {} : { body }),
  }
  const bare: WireRequest = { ...service, headers: { ...headers, [SCENARIO_HEADER]: scenario.name } }
  return { service, bare }
}

async function measure(scenario: Scenario, servers: Servers, durationS: number): Promise<ScenarioResult> {
  const requests = await wireRequests(scenario, servers)
  const shape: LoadShape = { connections: CONNECTIONS, pipelining: PIPELINING, durationS }
  const targets = [
    { who: 'bare' as const, url: servers.bare.url, request: requests.bare },
    { who: 'service' as const, url: servers.service.url, request: requests.service },
  ]
  for (const t of targets) await runLoad(t.url, t.request, { ...shape, durationS: WARMUP_S })
  const runs: Record<'bare' | 'service', RunFigures[]> = { bare: [], service: [] }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      const figures = await runLoad(t.url, t.request, shape)
      runs[t.who].push(figures)
      process.stdout.write(
        `  ${scenario.name} round ${round}/${ROUNDS} ${t.who.padEnd(7)} ${Math.round(figures.reqPerSec)} req/s, ` +
          `p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, non-2xx ${figures.non2xx}, errors ${figures.errors}\n`,
      )
    }
  }
  return { ...describe(scenario), bare: summarise(runs.bare), service: summarise(runs.service) }
}

function describe(scenario: Scenario): ScenarioResult {
  const { name, method, path, target } = scenario
  return { name, method, path, ...(target === undefined ? {} : { target }) }
}

async function runScenario(scenario: Scenario, servers: Servers, durationS: number): Promise<ScenarioResult> {
  process.stdout.write(`${scenario.name}: ${scenario.method} ${scenario.path}\n`)
  try {
    return judge(await measure(scenario, servers, durationS))
  } catch (error) {
    return { ...describe(scenario), error: error instanceof Error ? error.message : String(error) }
  }
}

/** Kills the children and exits when the run overstays its budget, whatever hangs. */
function startWatchdog(scenarios: number, durationS: number, servers: () => Servers | undefined) {
  const perScenarioS =
    SETUP_TIMEOUT_MS / 1000 + 2 * (WARMUP_S + PER_RUN_SLACK_S + ROUNDS * (durationS + PER_RUN_SLACK_S))
  const budgetS = FIXED_BUDGET_S + scenarios * perScenarioS
  return setTimeout(() => {
    process.stderr.write(`bench: still running after ${budgetS} s, giving up\n`)
    servers()?.kill()
    process.exit(2)
  }, budgetS * 1000)
}

/** Stops the children on the way out, whichever way that is. */
function installCleanup(servers: () => Servers | undefined): void {
  process.once('exit', () => servers()?.kill())
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, stopping the servers\n`)
      void (servers()?.stop() ?? Promise.resolve()).finally(() => process.exit(code))
    })
  }
}

function publish(
  results: ScenarioResult[],
  durationS: number,
  startedAt: string,
  loadAvgBefore: number[],
): void {
  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, loadAvgBefore, loadAvgAfter: loadavg() },
    load: { connections: CONNECTIONS, pipelining: PIPELINING, durationS, warmupS: WARMUP_S, rounds: ROUNDS },
    scenarios: results,
  }
  printTable(results)
  writeReport(report, RESULTS_FILE)
  process.stdout.write(
    `\nload average before ${loadAvgBefore.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs; ` +
      'load generator, service and bare server share this machine: compare ratios, not absolute figures.\n' +
      `results written to ${RESULTS_FILE.pathname}\n`,
  )
}

async function main(): Promise<number> {
  const durationS = readDuration()
  const scenarios = await loadScenarios(process.env.BENCH_SCENARIOS)
  const startedAt = new Date().toISOString()
  const loadAvgBefore = loadavg()
  let servers: Servers | undefined
  const watchdog = startWatchdog(scenarios.length, durationS, () => servers)
  installCleanup(() => servers)
  const results: ScenarioResult[] = []
  try {
    servers = await startServers()
    await servers.ready()
    process.stdout.write(`service ${servers.service.url}, bare ${servers.bare.url}, ${durationS} s per run\n`)
    for (const scenario of scenarios) results.push(await runScenario(scenario, servers, durationS))
  } finally {
    await servers?.stop()
    clearTimeout(watchdog)
  }
  publish(results, durationS, startedAt, loadAvgBefore)
  // A missed target is reported, not fatal; a scenario that errored fails the run.
  return results.some((r) => r.error) ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
