import type { Logger } from 'pino'
import { loadSettings, type Settings, SettingsError } from './config.ts'

/** How long shutdown may take before the process exits anyway. */
export const SHUTDOWN_DEADLINE_MS = 10_000

/**
 * Prints one `config error:` line per problem and exits 1.
 * @param problems the refused variables, one line each
 */
export function exitWithProblems(problems: string[]): never {
  for (const problem of problems) process.stderr.write(`config error: ${problem}\n`)
  process.exit(1)
}

/**
 * Loads the settings of an entry point; a refused configuration ends the process with one line per
 * variable and exit code 1.
 */
export function loadSettingsOrExit(): Settings {
  try {
    return loadSettings()
  } catch (error) {
    if (error instanceof SettingsError) exitWithProblems(error.problems)
    throw error
  }
}

/**
 * Shuts down gracefully on SIGTERM or SIGINT: runs `stop` once, then exits 0, or 1 when it fails or
 * outlasts {@link SHUTDOWN_DEADLINE_MS}.
 *
 * @param logger where the shutdown is reported
 * @param what what is being finished, for the log (e.g. `in-flight requests`)
 * @param stop finishes the work in flight and closes every port
 */
export function stopOnSignals(logger: Logger, what: string, stop: () => Promise<void>): void {
  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, `shutting down: finishing ${what}`)
    setTimeout(() => {
      logger.error('shutdown deadline passed: exiting anyway')
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS).unref()
    stop().then(
      () => {
        logger.info('shutdown complete')
        logger.flush()
        process.exit(0)
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

/**
 * Runs an entry point's `main`, printing an unexpected failure and exiting 1.
 * @param main the entry point
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(
      `fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    process.exit(1)
  })
}
