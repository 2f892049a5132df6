import type { Logger } from 'pino'
import type { Settings } from '../src/core/config.ts'
import { createLogger } from '../src/core/logging.ts'
import { loadSettingsOrExit } from '../src/core/process.ts'

/**
 * Runs a command-line task with validated settings and a logger, exiting 0 on success and 1 on a
 * configuration problem (one line per variable) or a failure.
 *
 * @param name the task's name for the logs
 * @param task the work to do
 */
export async function runTask(
  name: string,
  task: (settings: Settings, log: Logger) => Promise<void>,
): Promise<void> {
  const settings = loadSettingsOrExit()
  const log = createLogger(settings)
  try {
    await task(settings, log)
    log.info(`${name}: done`)
    log.flush()
    process.exitCode = 0
  } catch (error) {
    log.error({ err: error }, `${name}: failed`)
    log.flush()
    process.exitCode = 1
  }
}
