import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import type { Logger } from 'pino'
import { registerOpsRoutes } from './api/ops.ts'
import { v1Router } from './api/v1/router.ts'
import type { Settings } from './core/config.ts'
import { createInfrastructure, type Infrastructure } from './core/dependencies.ts'
import { createLogger } from './core/logging.ts'
import { createMetrics } from './core/metrics.ts'
import { createValidatorCompiler } from './core/validation.ts'
import { registerCors } from './middleware/cors.ts'
import { registerErrorHandling } from './middleware/error_handler.ts'
import { registerRequestPlumbing, requestIdOf } from './middleware/logging.ts'

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
    /** Marks the start of shutdown: readiness answers 503 from then on. */
    beginShutdown(): void
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
  metrics.addGaugeSource('folio_db_pool_connections', 'Database pool connections by state', () => {
    const stats = infra.database.poolStats()
    return { total: stats.total, idle: stats.idle, waiting: stats.waiting }
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
  app.decorate('beginShutdown', () => {
    shuttingDown = true
  })
  app.setValidatorCompiler(createValidatorCompiler())
  // JSON routes take only application/json; text/plain (parsed by default) becomes 415.
  app.removeContentTypeParser('text/plain')

  registerErrorHandling(app, settings.appEnv === 'development')
  registerRequestPlumbing(app, metrics)

  registerCors(app, settings.corsOrigins)

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Folio API',
        version: settings.version,
        description:
          'Accounts and JWT authentication, users, posts, files and API keys. Every response uses the ' +
          '`{code, message, data}` envelope; errors use `{code, message, detail}`.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          apiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: false, uiConfig: { deepLinking: false } })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  registerOpsRoutes(app, {
    version: settings.version,
    checks: infra.healthChecks,
    metrics,
    isShuttingDown: () => shuttingDown,
  })
  await app.register((scope) => v1Router(scope, {}), { prefix: '/api/v1' })

  if (ownsInfra) app.addHook('onClose', () => infra.close())
  return app
}
