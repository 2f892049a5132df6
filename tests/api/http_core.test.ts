import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JSON_BODY_LIMIT } from '../../src/app.ts'
import { BusinessException, ResourceNotFoundException } from '../../src/exceptions.ts'
import { Envelope, responses } from '../../src/schemas/base.ts'
import { ok } from '../../src/utils/helpers.ts'
import { capturingLogger, createTestApp, type TestApp } from '../support/app.ts'

/** Probe routes standing in for the feature endpoints, registered the way they register theirs. */
function addProbeRoutes(app: FastifyInstance): void {
  const Body = Type.Object(
    {
      email: Type.String({ format: 'email' }),
      age: Type.Optional(Type.Integer({ minimum: 0 })),
    },
    { additionalProperties: false },
  )
  app.post(
    '/api/v1/probe',
    { schema: { body: Body, response: responses({ 201: Envelope(Body) }, [400, 413, 415, 422]) } },
    async (request, reply) => reply.code(201).send(ok(request.body, 201)),
  )
  app.get(
    '/api/v1/probe/:probe_id',
    {
      schema: {
        params: Type.Object({ probe_id: Type.String({ format: 'uuid' }) }),
        querystring: Type.Object({ n: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 })) }),
      },
    },
    async () => {
      throw new ResourceNotFoundException('Probe not found')
    },
  )
  app.get('/api/v1/probe-rule', async () => {
    throw new BusinessException('Rule broken', 400, { rule: 'x' })
  })
  app.get('/api/v1/probe-crash', async () => {
    throw new Error('secret internals: password=hunter2')
  })
  app.get('/api/v1/probe-db-down', async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
  })
}

describe('HTTP core', () => {
  let t: TestApp
  const log = capturingLogger()

  beforeAll(async () => {
    t = await createTestApp({ CORS_ORIGINS: 'https://app.example.com' }, log.logger)
    addProbeRoutes(t.app)
  })
  afterAll(() => t.close())

  it('answers an unknown route with 404 in the error envelope', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/nowhere' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({ code: 404, message: 'Not Found', detail: null })
  })

  it('answers a known path with another method with 405 and Allow', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/api/v1/probe' })
    expect(res.statusCode).toBe(405)
    expect(res.headers.allow).toBe('POST')
    expect(res.json()).toMatchObject({ code: 405, detail: null })
  })

  it('answers malformed JSON with 400', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": ',
    })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ code: 400, message: 'Malformed JSON body', detail: null })
  })

  it('answers a text/plain body with 415', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    })
    expect(res.statusCode).toBe(415)
    expect(res.json()).toMatchObject({ code: 415, detail: null })
  })

  it('answers a body over 1 MiB with 413', async () => {
    const payload = JSON.stringify({ email: 'a@example.com', pad: 'x'.repeat(JSON_BODY_LIMIT) })
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe',
      headers: { 'content-type': 'application/json' },
      payload,
    })
    expect(res.statusCode).toBe(413)
    expect(res.json()).toEqual({ code: 413, message: 'Payload Too Large', detail: null })
  })

  it('answers schema violations with 422 and a {loc, msg, type} list', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe',
      payload: { email: 'not-an-email', age: '3', is_superuser: true },
    })
    expect(res.statusCode).toBe(422)
    const body = res.json()
    expect(body.code).toBe(422)
    expect(body.message).toBe('Validation error')
    expect(body.detail).toEqual(
      expect.arrayContaining([
        { loc: ['body', 'is_superuser'], msg: 'unknown field', type: 'additional_properties' },
        expect.objectContaining({ loc: ['body', 'email'], type: 'format' }),
        // Bodies are not coerced: the string "3" is not an integer.
        expect.objectContaining({ loc: ['body', 'age'], type: 'type' }),
      ]),
    )
  })

  it('answers a missing required field with its location', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/probe', payload: {} })
    expect(res.statusCode).toBe(422)
    expect(res.json().detail).toEqual([expect.objectContaining({ loc: ['body', 'email'], type: 'required' })])
  })

  it('validates path and query parameters with 422', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/probe/not-a-uuid' })
    expect(res.statusCode).toBe(422)
    expect(res.json().detail[0].loc).toEqual(['path', 'probe_id'])
    const query = await t.app.inject({
      method: 'GET',
      url: '/api/v1/probe/0192f0d2-7b1e-7cc0-9a4e-3c6a0e5b1f00?n=9',
    })
    expect(query.statusCode).toBe(422)
    expect(query.json().detail[0].loc).toEqual(['query', 'n'])
  })

  it('turns the specification exceptions into their statuses', async () => {
    const notFound = await t.app.inject({
      method: 'GET',
      url: '/api/v1/probe/0192f0d2-7b1e-7cc0-9a4e-3c6a0e5b1f00?n=2',
    })
    expect(notFound.statusCode).toBe(404)
    expect(notFound.json()).toEqual({ code: 404, message: 'Probe not found', detail: null })
    const rule = await t.app.inject({ method: 'GET', url: '/api/v1/probe-rule' })
    expect(rule.statusCode).toBe(400)
    expect(rule.json()).toEqual({ code: 400, message: 'Rule broken', detail: { rule: 'x' } })
  })

  it('hides internals of unexpected errors outside development', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/probe-crash' })
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({ code: 500, message: 'Internal Server Error', detail: null })
    expect(res.body).not.toContain('hunter2')
    const line = log.lines.find((l) => l.msg === 'request failed')
    expect(line?.request_id).toBe(res.headers['x-request-id'])
  })

  it('answers an unreachable dependency with 503', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/probe-db-down' })
    expect(res.statusCode).toBe(503)
    expect(res.json().code).toBe(503)
  })

  it('returns 201 created bodies through the response schema', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe',
      payload: { email: 'a@example.com' },
    })
    expect(res.statusCode).toBe(201)
    expect(res.json()).toEqual({ code: 201, message: 'success', data: { email: 'a@example.com' } })
  })

  it('sets the security headers on every response and no X-Powered-By', async () => {
    for (const url of ['/health/live', '/api/v1/nowhere']) {
      const res = await t.app.inject({ method: 'GET', url })
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.headers['x-content-type-options']).toBe('nosniff')
      expect(res.headers['x-frame-options']).toBe('DENY')
      expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'")
      expect(res.headers['x-powered-by']).toBeUndefined()
    }
  })

  it('lets /docs load its own assets and skips no-store there', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/html')
    expect(res.headers['content-security-policy']).toContain("script-src 'self'")
    expect(res.headers['cache-control']).not.toBe('no-store')
  })

  describe('request IDs', () => {
    it('keeps a valid incoming X-Request-ID and logs the request with it', async () => {
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/v1/nowhere',
        headers: { 'x-request-id': 'client-id_1.2-3' },
      })
      expect(res.headers['x-request-id']).toBe('client-id_1.2-3')
      const line = log.lines.find((l) => l.msg === 'request completed' && l.request_id === 'client-id_1.2-3')
      expect(line).toMatchObject({ status: 404, method: 'GET' })
    })

    it.each([['has spaces'], ['x'.repeat(129)], ['semi;colon']])(
      'replaces an invalid one (%s)',
      async (id) => {
        const res = await t.app.inject({
          method: 'GET',
          url: '/health/live',
          headers: { 'x-request-id': id },
        })
        const generated = res.headers['x-request-id'] as string
        expect(generated).not.toBe(id)
        expect(generated).toMatch(/^[A-Za-z0-9._-]{1,128}$/)
      },
    )
  })

  describe('CORS', () => {
    it('echoes an allowed origin with credentials and Vary', async () => {
      const res = await t.app.inject({
        method: 'GET',
        url: '/health/live',
        headers: { origin: 'https://app.example.com' },
      })
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com')
      expect(res.headers['access-control-allow-credentials']).toBe('true')
      expect(res.headers.vary).toContain('Origin')
      expect(res.headers['access-control-expose-headers']).toContain('X-Request-ID')
      expect(res.headers['access-control-expose-headers']).toContain('RateLimit-Remaining')
    })

    it('answers a preflight with the allowed headers', async () => {
      const res = await t.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/probe',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
      })
      expect(res.statusCode).toBe(204)
      for (const header of [
        'Authorization',
        'Content-Type',
        'X-CSRF-Token',
        'X-API-Key',
        'Idempotency-Key',
      ]) {
        expect(res.headers['access-control-allow-headers']).toContain(header)
      }
    })

    it('gives other origins no CORS headers', async () => {
      const res = await t.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/probe',
        headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
      })
      const cors = Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))
      expect(cors).toEqual([])
    })
  })
})
