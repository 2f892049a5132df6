import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { requestContext } from '../core/logging.ts'
import type { Metrics } from '../core/metrics.ts'

const VALID_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/

/** The headers every response carries (API.md "Conventions"). */
const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
}

/** The Swagger UI page loads its own scripts, styles and images from this origin. */
const DOCS_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
}

/** Routes too frequent and too cheap to be worth a log line each (probes and scrapes). */
const QUIET_ROUTES = new Set(['/health/live', '/metrics'])

/**
 * Keeps a valid incoming `X-Request-ID`, else makes a new one.
 * @param request the raw request
 * @returns the request ID
 */
export function requestIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const incoming = request.headers['x-request-id']
  return typeof incoming === 'string' && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID()
}

/** The route template of a request, never its raw URL. */
function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched'
}

/**
 * Installs the per-request plumbing: the async context carrying the request ID and logger, the
 * `X-Request-ID` and security headers, one log line per finished request, and the request metrics.
 *
 * @param app the Fastify instance
 * @param metrics where request counts and latencies go
 */
export function registerRequestPlumbing(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRequest', (request, reply, done) => {
    const docs = request.url.startsWith('/docs') || request.url.startsWith('/openapi.json')
    reply.headers(docs ? DOCS_HEADERS : SECURITY_HEADERS)
    reply.header('x-request-id', request.id)
    // Everything after this hook (handlers, services, outgoing events) runs inside this context.
    requestContext.run({ requestId: request.id, log: request.log }, done)
  })

  app.addHook('onResponse', (request, reply, done) => {
    const route = routeOf(request)
    const seconds = reply.elapsedTime / 1000
    metrics.observeRequest(request.method, route, reply.statusCode, seconds)
    if (!QUIET_ROUTES.has(route)) {
      request.log.info(
        { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'request completed',
      )
    }
    done()
  })
}
