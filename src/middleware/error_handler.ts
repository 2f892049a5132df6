import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import { isConnectionFailure } from '../core/errors.ts'
import { AppException, type ValidationIssue } from '../exceptions.ts'

const LOCATION: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
}

interface ErrorReply {
  status: number
  message: string
  detail: unknown
  headers?: Record<string, string>
}

/** Turns Ajv's errors into the 422 `detail` list of `{loc, msg, type}`. */
export function validationIssues(error: FastifyError): ValidationIssue[] {
  const part = LOCATION[error.validationContext ?? 'body'] ?? 'body'
  return (error.validation ?? []).map((issue) => {
    const path = issue.instancePath
      .split('/')
      .filter(Boolean)
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p.replaceAll('~1', '/').replaceAll('~0', '~')))
    const params = issue.params as Record<string, unknown>
    if (issue.keyword === 'required') path.push(String(params.missingProperty))
    if (issue.keyword === 'additionalProperties') {
      path.push(String(params.additionalProperty))
      return { loc: [part, ...path], msg: 'unknown field', type: 'additional_properties' }
    }
    return { loc: [part, ...path], msg: issue.message ?? 'invalid value', type: issue.keyword }
  })
}

function classify(error: FastifyError, development: boolean): ErrorReply {
  if (error instanceof AppException) {
    return { status: error.statusCode, message: error.message, detail: error.detail, headers: error.headers }
  }
  if (error.validation) {
    return { status: 422, message: 'Validation error', detail: validationIssues(error) }
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: 'Unsupported Media Type: send application/json', detail: null }
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
      return { status: 413, message: 'Payload Too Large', detail: null }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, message: 'Malformed JSON body: the body is empty', detail: null }
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, message: 'Malformed JSON body', detail: null }
  }
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return { status: 400, message: 'Malformed JSON body', detail: null }
  }
  if (isConnectionFailure(error)) {
    return { status: 503, message: 'Service unavailable: a dependency is not reachable', detail: null }
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) return { status, message: error.message, detail: null }
  return {
    status: 500,
    message: 'Internal Server Error',
    detail: development ? { error: error.message, stack: error.stack?.split('\n') } : null,
  }
}

/**
 * Installs the one error handler (every error becomes the error envelope, internals hidden outside
 * development), the 404 handler, and the 405 answer for a known path called with another method.
 *
 * @param app the Fastify instance, before its routes are registered
 * @param development whether internals may be shown in 500 responses
 */
export function registerErrorHandling(app: FastifyInstance, development: boolean): void {
  // A mirror of the route table, consulted only when no route matched, to tell 405 from 404.
  const mirror = FindMyWay({ ignoreTrailingSlash: false })
  const methods = new Set<HTTPMethod>()
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat() as HTTPMethod[]) {
      // CORS preflight answers OPTIONS on every path; it says nothing about which methods a path serves.
      if (method === 'OPTIONS') continue
      methods.add(method)
      mirror.on(method, route.url ?? route.path, () => {})
    }
  })

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const out = classify(error, development)
    if (out.status === 503) request.log.warn({ err: error }, 'dependency unavailable')
    else if (out.status >= 500) request.log.error({ err: error }, 'request failed')
    if (out.headers) reply.headers(out.headers)
    return reply.code(out.status).send({ code: out.status, message: out.message, detail: out.detail ?? null })
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/'
    const allowed = [...methods].filter((m) => m !== request.method && mirror.find(m, path))
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.sort().join(', '))
        .send({ code: 405, message: `Method ${request.method} not allowed`, detail: null })
    }
    return reply.code(404).send({ code: 404, message: 'Not Found', detail: null })
  })
}
