import { mkdirSync, writeFileSync } from 'node:fs'
import type { TargetFigures } from './load.ts'
import type { MeasurementResult } from './measurement.ts'

/** Most failed or non-2xx requests a run may have before its scenario counts as failed. */
export const MAX_FAILURE_RATE = 0.01

/** The outcome of one scenario. */
export interface ScenarioResult {
  name: string
  method: string
  path: string
  /** Lowest acceptable service/bare req/s ratio, when the scenario sets one. */
  target?: number
  /** Highest acceptable service/bare p99 ratio, when the scenario sets one. */
  p99RatioMax?: number
  /** What `bare` and `service` were, when not the bare server and the service (a service baseline). */
  labels?: { bare: string; service: string }
  bare?: TargetFigures
  service?: TargetFigures
  /** Service req/s divided by bare req/s. */
  ratio?: number
  targetMet?: boolean
  /** Service p99 divided by bare p99. */
  p99Ratio?: number
  p99TargetMet?: boolean
  /** Why the scenario failed (an exception, or too many failed requests); absent when it passed. */
  error?: string
}

/** Everything `bench/results/latest.json` holds. */
export interface BenchReport {
  startedAt: string
  finishedAt: string
  machine: { node: string; cpus: number; loadAvgBefore: number[]; loadAvgAfter: number[] }
  load: { connections: number; pipelining: number; durationS: number; warmupS: number; rounds: number }
  scenarios: ScenarioResult[]
  measurements: MeasurementResult[]
}

/**
 * Fills in the ratio, the target verdict and the failure verdict of a measured scenario.
 *
 * @param result the scenario with its bare and service figures
 * @returns the same result, completed
 */
export function judge(result: ScenarioResult): ScenarioResult {
  const { bare, service } = result
  if (!bare || !service) return result
  const ratio = bare.reqPerSec > 0 ? service.reqPerSec / bare.reqPerSec : 0
  const p99Ratio = bare.p99Ms > 0 ? service.p99Ms / bare.p99Ms : Number.POSITIVE_INFINITY
  const error = (
    [
      ['bare', bare],
      ['service', service],
    ] as const
  )
    .filter(([, figures]) => figures.failureRate > MAX_FAILURE_RATE)
    .map(([who, figures]) => `${who}: ${(figures.failureRate * 100).toFixed(2)}% failed or non-2xx`)
    .join('; ')
  return {
    ...result,
    ratio,
    p99Ratio,
    ...(result.target === undefined ? {} : { targetMet: ratio >= result.target }),
    ...(result.p99RatioMax === undefined ? {} : { p99TargetMet: p99Ratio <= result.p99RatioMax }),
    ...(error ? { error } : {}),
  }
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined
    ? '-'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

function verdict(value: number | undefined, bound: string, limit: number | undefined, met?: boolean) {
  if (value === undefined) return ''
  const goal = limit === undefined ? '' : ` (${bound} ${limit}: ${met ? 'met' : 'MISSED'})`
  return `${fmt(value, 2)}${goal}`
}

/**
 * Prints the results as a table: one row per server and scenario, the ratio on the service row.
 *
 * @param results the scenarios' outcomes
 */
export function printTable(results: ScenarioResult[]): void {
  const head = ['scenario', 'target', 'req/s', 'p50 ms', 'p99 ms', 'req/s ratio', 'p99 ratio']
  const rows: string[][] = [head]
  for (const r of results) {
    const f = (t: 'bare' | 'service') => [fmt(r[t]?.reqPerSec), fmt(r[t]?.p50Ms, 1), fmt(r[t]?.p99Ms, 1)]
    rows.push([r.name, r.labels?.bare ?? 'bare', ...f('bare'), '', ''])
    rows.push([
      `${r.method} ${r.path}`,
      r.labels?.service ?? 'service',
      ...f('service'),
      verdict(r.ratio, '>=', r.target, r.targetMet),
      verdict(r.p99Ratio, '<=', r.p99RatioMax, r.p99TargetMet),
    ])
  }
  const widths = head.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)))
  const line = (row: string[]) =>
    row.map((cell, i) => (i >= 2 && i <= 4 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ')
  process.stdout.write(`\n${rows.map((row) => line(row).trimEnd()).join('\n')}\n`)
  for (const r of results.filter((x) => x.error)) process.stdout.write(`ERROR ${r.name}: ${r.error}\n`)
}

/**
 * Prints the measurements: one line each, its target figure first, then the others.
 *
 * @param results the measurements' outcomes
 */
export function printMeasurements(results: MeasurementResult[]): void {
  for (const r of results) {
    const { target } = r
    const bound = target && (target.lessThan === undefined ? `>= ${target.atLeast}` : `< ${target.lessThan}`)
    const goal = target
      ? ` ${target.figure} ${fmt(r.figures[target.figure], 1)} (target ${bound}: ${r.targetMet ? 'met' : 'MISSED'})`
      : ''
    const others = Object.entries(r.figures)
      .filter(([key]) => key !== target?.figure)
      .map(([key, value]) => `${key} ${fmt(value, 1)}`)
      .join(', ')
    process.stdout.write(`\n${r.name}:${goal}\n  ${r.description}\n  ${others}\n`)
    if (r.error) process.stdout.write(`ERROR ${r.name}: ${r.error}\n`)
  }
}

/**
 * Writes the report as JSON.
 *
 * @param report the full report
 * @param file where to write it (its folder is created)
 */
export function writeReport(report: BenchReport, file: URL): void {
  mkdirSync(new URL('.', file), { recursive: true })
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
}
