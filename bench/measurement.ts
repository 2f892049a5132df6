import eventPipeline from './event_pipeline.ts'
import loginStorm from './login_storm.ts'
import type { SetupContext } from './scenario.ts'

/** The bound one figure of a measurement must stay within. */
export interface MeasurementTarget {
  /** The key in `figures` it applies to. */
  figure: string
  /** Met when the figure is below this. */
  lessThan?: number
  /** Met when the figure is at least this. */
  atLeast?: number
}

/** The outcome of one measurement. */
export interface MeasurementResult {
  name: string
  /** What was measured, one line. */
  description: string
  /** The figures by name, the unit in the name (`p99Ms`, `eventsPerSec`). */
  figures: Record<string, number>
  target?: MeasurementTarget
  targetMet?: boolean
  /** Why it failed; absent when it ran to the end. */
  error?: string
}

/** What a measurement runs with. */
export interface MeasurementContext {
  /** Seconds per measured run (`BENCH_DURATION`). */
  durationS: number
  /** The running service, for a measurement with `usesService`. */
  service?: { url: string; setup: SetupContext }
  /** The bench database, e.g. to derive a database of its own on the same server. */
  databaseUrl: string
}

/**
 * A measurement that is not a service/bare pair of one route (e.g. latency under a storm, or an
 * in-process pipeline). `BENCH_SCENARIOS` selects them by name like scenarios.
 */
export interface Measurement {
  name: string
  /** True when it loads the running service; else it runs after the servers stopped. */
  usesService: boolean
  /** The longest it may take in seconds, for the watchdog. */
  budgetS(durationS: number): number
  /** Measures; throws on a failure to measure (a missed target is not one). */
  run(ctx: MeasurementContext): Promise<Omit<MeasurementResult, 'targetMet'>>
}

/** Every measurement, in the order they run. */
export const MEASUREMENTS: Measurement[] = [loginStorm, eventPipeline]

function meets(target: MeasurementTarget, value: number | undefined): boolean {
  if (value === undefined || Number.isNaN(value)) return false
  return (
    (target.lessThan === undefined || value < target.lessThan) &&
    (target.atLeast === undefined || value >= target.atLeast)
  )
}

/**
 * Runs one measurement and judges its target; an exception becomes the result's `error`.
 * @param measurement the measurement
 * @param ctx what it runs with
 * @returns the judged result
 */
export async function runMeasurement(
  measurement: Measurement,
  ctx: MeasurementContext,
): Promise<MeasurementResult> {
  process.stdout.write(`${measurement.name}\n`)
  try {
    const result = await measurement.run(ctx)
    const { target } = result
    return target ? { ...result, targetMet: meets(target, result.figures[target.figure]) } : result
  } catch (error) {
    return {
      name: measurement.name,
      description: '',
      figures: {},
      error: error instanceof Error ? error.message : String(error),
    }
  }
}

/**
 * Splits `BENCH_SCENARIOS` into the measurements it names and the filter for the scenarios.
 * @param filter comma-separated names (all when empty)
 * @returns the measurements to run, and the scenario filter (null: no scenario at all)
 */
export function selectRun(filter = ''): { measurements: Measurement[]; scenarioFilter: string | null } {
  const names = filter
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
  if (names.length === 0) return { measurements: MEASUREMENTS, scenarioFilter: '' }
  const rest = names.filter((n) => !MEASUREMENTS.some((m) => m.name === n))
  return {
    measurements: MEASUREMENTS.filter((m) => names.includes(m.name)),
    scenarioFilter: rest.length > 0 ? rest.join(',') : null,
  }
}
