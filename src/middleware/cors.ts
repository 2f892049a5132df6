import type { FastifyInstance } from 'fastify'

/** Request headers a browser may send cross-origin (API.md "Conventions"). */
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-CSRF-Token, X-API-Key, X-Request-ID, Idempotency-Key'
/** Response headers a browser script may read. */
const EXPOSED_HEADERS = 'X-Request-ID, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After'
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE'

/**
 * The CORS policy of API.md: an allowed origin is echoed exactly, with credentials and `Vary: Origin`;
 * any other origin gets no CORS header at all. `*` (refused in production) allows every origin, still
 * echoed, since credentials forbid a literal `*`.
 *
 * @param app the Fastify instance
 * @param origins the allowed origins, exactly as browsers send them (`https://app.example.com`)
 */
export function registerCors(app: FastifyInstance, origins: string[]): void {
  const allowAll = origins.includes('*')
  const allowed = new Set(origins)

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('vary', 'Origin')
    const origin = request.headers.origin
    if (origin !== undefined && (allowAll || allowed.has(origin))) {
      reply.header('access-control-allow-origin', origin)
      reply.header('access-control-allow-credentials', 'true')
      reply.header('access-control-expose-headers', EXPOSED_HEADERS)
    }
    done()
  })

  // Preflight: answered for every path; the CORS headers are there only for an allowed origin.
  app.options('/*', { schema: { hide: true }, config: { rateLimit: false } }, async (request, reply) => {
    const origin = request.headers.origin
    if (origin !== undefined && (allowAll || allowed.has(origin))) {
      reply.header('access-control-allow-methods', ALLOWED_METHODS)
      reply.header('access-control-allow-headers', ALLOWED_HEADERS)
      reply.header('access-control-max-age', '600')
    }
    return reply.code(204).send()
  })
}
