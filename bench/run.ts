import { cpus, loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { drain, type LoadShape, type RunFigures, runLoad, summarise, type WireRequest } from './load.ts'
import { type Measurement, type MeasurementResult, runMeasurement, selectRun } from './measurement.ts'
import {
  type BenchReport,
  judge,
  printMeasurements,
  printTable,
  type ScenarioResult,
  writeReport,
} from './report.ts'
import {
  createSetupContext,
  encodeRequest,
  loadScenarios,
  type RequestSpec,
  SCENARIO_HEADER,
  type Scenario,
  type SetupContext,
} from './scenario.ts'
import { DEFAULT_BENCH_DATABASE_URL, type Servers, startServers } from './servers.ts'
import { startServicePair } from './service_pair.ts'

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

/** The requests both servers get: the scenario's, as its setup amended it. */
async function wireRequests(scenario: Scenario, setupOn: SetupContext) {
  let spec: RequestSpec = scenario
  if (scenario.setup) {
    const setup = scenario.setup(setupOn)
    const limitMs = (scenario.setupTimeoutS ?? SETUP_TIMEOUT_MS / 1000) * 1000
    const amended = await Promise.race([
      setup,
      sleep(limitMs, undefined, { ref: false }).then(() =>
        Promise.reject(new Error(`setup took over ${limitMs} ms`)),
      ),
    ])
    spec = { path: scenario.path, headers: scenario.headers, body: scenario.body, ...amended }
    spec.sequence ??= scenario.sequence
  }
  const { headers, body } = encodeRequest(spec)
  const service: WireRequest = {
    method: scenario.method,
    path: spec.path,
    headers,
    ...(body === undefined ? {} : { body }),
  }
  const bare: WireRequest = { ...service, headers: { ...headers, [SCENARIO_HEADER]: scenario.name } }
  if (spec.sequence) {
    service.next = spec.sequence()
    bare.next = spec.sequence()
  }
  return { service, bare }
}

/** The two servers a scenario compares: the bare server and the service, or a pair of services. */
async function measure(scenario: Scenario, servers: Servers, durationS: number): Promise<ScenarioResult> {
  if (!scenario.baseline)
    return measureOn(scenario, servers.bare.url, servers.service.url, servers, durationS)
  const pair = await startServicePair(scenario.name, servers.databaseUrl, scenario.baseline)
  try {
    return await measureOn(scenario, pair.baseline.url, pair.subject.url, servers, durationS)
  } finally {
    await pair.stop()
  }
}

async function measureOn(
  scenario: Scenario,
  bareUrl: string,
  serviceUrl: string,
  servers: Servers,
  durationS: number,
): Promise<ScenarioResult> {
  const requests = await wireRequests(scenario, createSetupContext(serviceUrl, servers.databaseUrl))
  const connections = scenario.connections ?? CONNECTIONS
  const runS = Math.max(durationS, scenario.minDurationS ?? 0)
  const shape: LoadShape = { connections, pipelining: PIPELINING, durationS: runS }
  const targets = [
    // A service baseline gets the service's request: it has no bare route to pick.
    { who: 'bare' as const, url: bareUrl, request: scenario.baseline ? requests.service : requests.bare },
    { who: 'service' as const, url: serviceUrl, request: requests.service },
  ]
  const settle = (t: (typeof targets)[number]) => (scenario.drain ? drain(t.url, t.request) : undefined)
  for (const t of targets) {
    await runLoad(t.url, t.request, { ...shape, durationS: WARMUP_S })
    await settle(t)
  }
  const runs: Record<'bare' | 'service', RunFigures[]> = { bare: [], service: [] }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      const figures = await runLoad(t.url, t.request, shape)
      await settle(t)
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
  const { name, method, path, target, p99RatioMax, baseline } = scenario
  return {
    name,
    method,
    path,
    ...(target === undefined ? {} : { target }),
    ...(p99RatioMax === undefined ? {} : { p99RatioMax }),
    ...(baseline ? { labels: { bare: baseline.label, service: baseline.subjectLabel } } : {}),
  }
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
function startWatchdog(
  scenarios: Scenario[],
  measurements: Measurement[],
  durationS: number,
  servers: () => Servers | undefined,
) {
  const perScenarioS = (s: Scenario) =>
    (s.setupTimeoutS ?? SETUP_TIMEOUT_MS / 1000) +
    2 * (WARMUP_S + PER_RUN_SLACK_S + ROUNDS * (Math.max(durationS, s.minDurationS ?? 0) + PER_RUN_SLACK_S)) +
    (s.drain ? 2 * (1 + ROUNDS) * PER_RUN_SLACK_S : 0) +
    (s.baseline ? FIXED_BUDGET_S : 0)
  const budgetS =
    FIXED_BUDGET_S +
    scenarios.reduce((n, s) => n + perScenarioS(s), 0) +
    measurements.reduce((n, m) => n + m.budgetS(durationS), 0)
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
  measured: MeasurementResult[],
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
    measurements: measured,
  }
  if (results.length > 0) printTable(results)
  printMeasurements(measured)
  writeReport(report, RESULTS_FILE)
  process.stdout.write(
    `\nload average before ${loadAvgBefore.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs; ` +
      'load generator, service and bare server share this machine: compare ratios, not absolute figures.\n' +
      `results written to ${RESULTS_FILE.pathname}\n`,
  )
}

async function main(): Promise<number> {
  const durationS = readDuration()
  const { measurements, scenarioFilter } = selectRun(process.env.BENCH_SCENARIOS)
  const scenarios = scenarioFilter === null ? [] : await loadScenarios(scenarioFilter)
  const startedAt = new Date().toISOString()
  const loadAvgBefore = loadavg()
  let servers: Servers | undefined
  const watchdog = startWatchdog(scenarios, measurements, durationS, () => servers)
  installCleanup(() => servers)
  const results: ScenarioResult[] = []
  const measured: MeasurementResult[] = []
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? DEFAULT_BENCH_DATABASE_URL
  try {
    if (scenarios.length > 0 || measurements.some((m) => m.usesService)) {
      servers = await startServers()
      await servers.ready()
      process.stdout.write(
        `service ${servers.service.url}, bare ${servers.bare.url}, ${durationS} s per run\n`,
      )
      for (const scenario of scenarios) results.push(await runScenario(scenario, servers, durationS))
      const service = {
        url: servers.service.url,
        setup: createSetupContext(servers.service.url, databaseUrl),
      }
      for (const m of measurements.filter((x) => x.usesService))
        measured.push(await runMeasurement(m, { durationS, databaseUrl, service }))
    }
  } finally {
    await servers?.stop()
  }
  try {
    // The in-process measurements run alone, once the servers are gone.
    for (const m of measurements.filter((x) => !x.usesService))
      measured.push(await runMeasurement(m, { durationS, databaseUrl }))
  } finally {
    clearTimeout(watchdog)
  }
  publish(results, measured, durationS, startedAt, loadAvgBefore)
  // A missed target is reported, not fatal; a scenario or measurement that errored fails the run.
  return [...results, ...measured].some((r) => r.error) ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
