import { buildApp } from './app.ts'
import { createLogger } from './core/logging.ts'
import { loadSettingsOrExit, runMain, stopOnSignals } from './core/process.ts'

/** `npm start`: serves the API until SIGTERM/SIGINT, then lets in-flight requests finish. */
async function main(): Promise<void> {
  const settings = loadSettingsOrExit()
  const logger = createLogger(settings)
  if (settings.jwtSecretGenerated) {
    logger.warn('JWT_SECRET is not set: using a random secret for this process (tokens die with it)')
  }
  const app = await buildApp(settings, { logger })
  await app.listen({ host: settings.host, port: settings.port })
  stopOnSignals(logger, 'in-flight requests', async () => {
    // Readiness answers 503 from now; Fastify refuses new requests and waits for those in flight.
    app.beginShutdown()
    await app.close()
  })
}

runMain(main)
