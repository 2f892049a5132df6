import { buildApp } from './app.ts'
import { loadSettings, SettingsError } from './core/config.ts'
import { createLogger } from './core/logging.ts'

/** How long shutdown may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 10_000

async function main(): Promise<void> {
  let settings: ReturnType<typeof loadSettings>
  try {
    settings = loadSettings()
  } catch (error) {
    if (error instanceof SettingsError) {
      for (const problem of error.problems) process.stderr.write(`config error: ${problem}\n`)
      process.exit(1)
    }
    throw error
  }
  const logger = createLogger(settings)
  if (settings.jwtSecretGenerated) {
    logger.warn('JWT_SECRET is not set: using a random secret for this process (tokens die with it)')
  }
  const app = await buildApp(settings, { logger })
  await app.listen({ host: settings.host, port: settings.port })

  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: finishing in-flight requests')
    app.beginShutdown()
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed: exiting anyway')
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS)
    deadline.unref()
    app.close().then(
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

main().catch((error: unknown) => {
  process.stderr.write(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
