import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { HealthCheck } from '../core/dependencies.ts'
import type { Metrics } from '../core/metrics.ts'
import { Envelope, ErrorEnvelope } from '../schemas/base.ts'
import { ok } from '../utils/helpers.ts'

/** How long one dependency probe may take before it counts as down. */
const PROBE_TIMEOUT_MS = 1_500

const Check = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('down')]),
  latency_ms: Type.Number(),
  mode: Type.Union([Type.Literal('external'), Type.Literal('embedded')]),
})

const HealthReport = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('down')]),
  version: Type.String(),
  uptime_s: Type.Number(),
  checks: Type.Record(Type.String(), Check),
})

const HealthDown = Type.Object({
  code: Type.Literal(503),
  message: Type.String(),
  detail: HealthReport,
})

const healthSchema = {
  tags: ['operations'],
  summary: 'Probes every dependency (database, cache, broker, storage)',
  response: { 200: Envelope(HealthReport), 503: HealthDown, 500: ErrorEnvelope },
}

/** Options of {@link registerOpsRoutes}. */
export interface OpsOptions {
  version: string
  checks: HealthCheck[]
  metrics: Metrics
  /** True once shutdown began: readiness then answers 503. */
  isShuttingDown: () => boolean
}

/**
 * Registers `/health`, `/health/live`, `/health/ready` and `/metrics`.
 * @param app the Fastify instance
 * @param options the probes and metrics
 */
export function registerOpsRoutes(app: FastifyInstance, options: OpsOptions): void {
  const startedAt = Date.now()

  async function report() {
    const entries = await Promise.all(
      options.checks.map(async (check) => {
        const start = performance.now()
        const status = await check.ping(PROBE_TIMEOUT_MS).then(
          () => 'ok' as const,
          () => 'down' as const,
        )
        const latency_ms = Math.round((performance.now() - start) * 100) / 100
        return [check.name, { status, latency_ms, mode: check.mode }] as const
      }),
    )
    const checks = Object.fromEntries(entries)
    const healthy = entries.every(([, c]) => c.status === 'ok') && !options.isShuttingDown()
    return {
      healthy,
      body: {
        status: healthy ? ('ok' as const) : ('down' as const),
        version: options.version,
        uptime_s: Math.round((Date.now() - startedAt) / 1000),
        checks,
      },
    }
  }

  const health = async (_request: unknown, reply: import('fastify').FastifyReply) => {
    const { healthy, body } = await report()
    if (healthy) return ok(body)
    const down = Object.entries(body.checks)
      .filter(([, c]) => c.status === 'down')
      .map(([name]) => name)
    const message =
      down.length > 0 ? `Service unavailable: ${down.join(', ')} down` : 'Service is shutting down'
    return reply.code(503).send({ code: 503, message, detail: body })
  }

  app.get('/health', { schema: healthSchema }, health)
  app.get('/health/ready', { schema: { ...healthSchema, summary: 'Readiness: same as /health' } }, health)
  app.get(
    '/health/live',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness: 200 while the process runs; checks nothing',
        response: { 200: Envelope(Type.Object({ status: Type.Literal('ok') })) },
      },
    },
    async () => ok({ status: 'ok' as const }),
  )
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', options.metrics.registry.contentType)
    return options.metrics.registry.metrics()
  })
}
