import cookie from '@fastify/cookie'
import multipart from '@fastify/multipart'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import type { Logger } from 'pino'
import { registerAuth } from './api/deps.ts'
import { registerOpsRoutes } from './api/ops.ts'
import { v1Router } from './api/v1/router.ts'
import type { Settings } from './core/config.ts'
import { createInfrastructure, type Infrastructure } from './core/dependencies.ts'
import { createLogger } from './core/logging.ts'
import { createMetrics } from './core/metrics.ts'
import { TokenSigner } from './core/security.ts'
import { registerDiskDownloads } from './core/storage.ts'
import { createValidatorCompiler } from './core/validation.ts'
import { AppException } from './exceptions.ts'
import { registerCors } from './middleware/cors.ts'
import { registerErrorHandling } from './middleware/error_handler.ts'
import { registerRequestPlumbing, requestIdOf } from './middleware/logging.ts'
import { registerRateLimit } from './middleware/rate_limit.ts'
import { OutboxRepository } from './repositories/outbox_repo.ts'
import { createServices, type Services } from './services/index.ts'
import { createHandlerRegistry } from './workers/handlers.ts'
import { type EventPipeline, startEventPipeline } from './workers/pipeline.ts'
import type { HandlerRegistry } from './workers/registry.ts'

/** Largest JSON body accepted (API.md: 1 MiB, 413 above). */
export const JSON_BODY_LIMIT = 1024 * 1024

/** Options of {@link buildApp}; production passes none. */
export interface BuildOptions {
  /** The root logger (defaults to one made from the settings). */
  logger?: Logger
  /** Ports created by the caller, who then closes them; by default the app creates and closes its own. */
  infrastructure?: Infrastructure
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The ports this app runs on. */
    infra: Infrastructure
    /** The services the routes call. */
    services: Services
    /** The outbox relay (and, with the in-process broker, the consumers) of this process. */
    events: EventPipeline
    /** Marks the start of shutdown: readiness answers 503 from then on. */
    beginShutdown(): void
  }
}

function openApiDocument(settings: Settings) {
  return {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Folio API',
        version: settings.version,
        description:
          'Accounts and JWT authentication, users, posts, files and API keys. Every response uses the ' +
          '`{code, message, data}` envelope; errors use `{code, message, detail}`. Rate-limited responses ' +
          'carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; when the cache holding the ' +
          'limits is unreachable, limited routes answer 503 rather than go unprotected.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http' as const, scheme: 'bearer', bearerFormat: 'JWT' },
          apiKeyAuth: { type: 'apiKey' as const, in: 'header' as const, name: 'X-API-Key' },
        },
      },
    },
  }
}

/**
 * Declares the worker's queues from the API side, so events relayed before a worker ever ran wait in
 * their queues. A broker that is down now is not fatal: the worker declares them when it starts.
 */
async function declareWorkerQueues(
  infra: Infrastructure,
  registry: HandlerRegistry,
  prefix: string,
  log: Logger,
): Promise<void> {
  try {
    for (const group of registry.groups()) {
      await infra.broker.declareQueue(`${prefix}.${group}`, registry.typesOf(group))
    }
  } catch (error) {
    log.warn({ err: error }, 'worker queues not declared: the broker is unreachable')
  }
}

/**
 * Builds the Fastify application: plugins, hooks, error handling, documentation and every route,
 * on the ports made from the settings. Used by `main.ts` and by the tests alike.
 *
 * @param settings the validated settings
 * @param options a logger or ports to use instead of making new ones
 * @returns the application, not yet ready: `listen()` or `inject()` readies it
 */
export async function buildApp(settings: Settings, options: BuildOptions = {}): Promise<FastifyInstance> {
  const logger = options.logger ?? createLogger(settings)
  const infra = options.infrastructure ?? (await createInfrastructure(settings, logger))
  const ownsInfra = options.infrastructure === undefined
  const metrics = createMetrics()
  metrics.addGaugeSource(
    'folio_db_pool',
    'Database pool: connections it may open (max), statements and transactions awaiting their answer (in_flight)',
    () => {
      const stats = infra.database.poolStats()
      return { max: stats.max, in_flight: stats.inFlight }
    },
  )
  const outbox = new OutboxRepository(infra.database.db)
  metrics.addGaugeSource(
    'folio_outbox_events',
    'Outbox events by state (unpublished = the relay backlog)',
    async () => ({
      unpublished: await outbox.countUnpublished(),
    }),
  )

  // The relay always runs in the API process; with the in-process broker the consumers run here too.
  const registry = createHandlerRegistry({
    db: infra.database.db,
    settings,
    mailer: infra.mailer,
    storage: infra.storage,
  })
  await declareWorkerQueues(infra, registry, settings.eventsQueuePrefix, logger)
  const events = await startEventPipeline(
    { database: infra.database, broker: infra.broker, log: logger.child({ component: 'events' }), registry },
    {
      consume: infra.broker.mode === 'embedded',
      consumer: { queuePrefix: settings.eventsQueuePrefix, prefetch: settings.workerPrefetch },
      retention: { retentionDays: settings.eventsRetentionDays },
    },
  )
  const signer = new TokenSigner(settings.jwtSecret, settings.accessTokenTtlSeconds)
  const services = createServices({
    settings,
    infra,
    signer,
    wakeRelay: () => events.wake(),
    log: logger as FastifyBaseLogger,
  })

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    genReqId: requestIdOf,
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    bodyLimit: JSON_BODY_LIMIT,
    // Fastify accepts a hop count too, although its type omits it.
    trustProxy: settings.trustProxy as boolean | string,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>()

  let shuttingDown = false
  app.decorate('infra', infra)
  app.decorate('services', services)
  app.decorate('events', events)
  app.decorate('beginShutdown', () => {
    shuttingDown = true
  })
  app.setValidatorCompiler(createValidatorCompiler())
  // JSON routes take only application/json; text/plain (parsed by default) becomes 415.
  app.removeContentTypeParser('text/plain')

  registerErrorHandling(app, settings.appEnv === 'development')
  registerRequestPlumbing(app, metrics)
  registerCors(app, settings.corsOrigins)
  await app.register(swagger, openApiDocument(settings))
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: false, uiConfig: { deepLinking: false } })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  registerOpsRoutes(app, {
    version: settings.version,
    checks: infra.healthChecks,
    metrics,
    isShuttingDown: () => shuttingDown,
  })
  registerDiskDownloads(app, infra.storage)
  // Cookies, uploads, authentication, rate limiting and the multipart guard belong to the API scope
  // only, so the probes, metrics and documentation pay nothing for them (and are never limited).
  await app.register(
    async (api) => {
      await api.register(cookie)
      await api.register(multipart, {
        throwFileSizeLimit: true,
        limits: { files: 1, fields: 10, fieldSize: 1024 },
      })
      // Authentication first, so the rate limiter can count a request against its user.
      registerAuth(api, { signer, sessions: services.sessions, apiKeys: services.apiKeys })
      if (settings.rateLimit.enabled)
        registerRateLimit(api, { cache: infra.cache, settings: settings.rateLimit })
      api.addHook('preValidation', async (request) => {
        if (request.isMultipart() && !request.routeOptions.config.multipart) {
          throw new AppException('Unsupported Media Type: send application/json', 415)
        }
      })
      await v1Router(api, { settings, signer, ...services })
    },
    { prefix: '/api/v1' },
  )

  app.addHook('onClose', async () => {
    await events.stop()
    if (ownsInfra) await infra.close()
  })
  return app
}
