import { mkdirSync, writeFileSync } from 'node:fs'
import type { TargetFigures } from './load.ts'

/** Most failed or non-2xx requests a run may have before its scenario counts as failed. */
export const MAX_FAILURE_RATE = 0.01

/** The outcome of one scenario. */
export interface ScenarioResult {
  name: string
  method: string
  path: string
  /** Lowest acceptable service/bare req/s ratio, when the scenario sets one. */
  target?: number
  bare?: TargetFigures
  service?: TargetFigures
  /** Service req/s divided by bare req/s. */
  ratio?: number
  targetMet?: boolean
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
    ...(result.target === undefined ? {} : { targetMet: ratio >= result.target }),
    ...(error ? { error } : {}),
  }
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined
    ? '-'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

function verdict(r: ScenarioResult): string {
  if (r.ratio === undefined) return ''
  const goal =
    r.target === undefined ? '(no target)' : `(target ${r.target}: ${r.targetMet ? 'met' : 'MISSED'})`
  return `${fmt(r.ratio, 2)} ${goal}`
}

/**
 * Prints the results as a table: one row per server and scenario, the ratio on the service row.
 *
 * @param results the scenarios' outcomes
 */
export function printTable(results: ScenarioResult[]): void {
  const head = ['scenario', 'target', 'req/s', 'p50 ms', 'p99 ms', 'service/bare']
  const rows: string[][] = [head]
  for (const r of results) {
    const label = `${r.method} ${r.path}`
    rows.push([label, 'bare', fmt(r.bare?.reqPerSec), fmt(r.bare?.p50Ms, 1), fmt(r.bare?.p99Ms, 1), ''])
    rows.push([
      '',
      'service',
      fmt(r.service?.reqPerSec),
      fmt(r.service?.p50Ms, 1),
      fmt(r.service?.p99Ms, 1),
      verdict(r),
    ])
  }
  const widths = head.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)))
  const line = (row: string[]) =>
    row.map((cell, i) => (i >= 2 && i <= 4 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ')
  process.stdout.write(`\n${rows.map((row) => line(row).trimEnd()).join('\n')}\n`)
  for (const r of results.filter((x) => x.error)) process.stdout.write(`ERROR ${r.name}: ${r.error}\n`)
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
