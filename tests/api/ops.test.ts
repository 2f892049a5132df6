import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../support/app.ts'

describe('operations routes', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp()
  })
  afterAll(() => t.close())

  it('GET /health reports each dependency with status, latency and mode', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({ code: 200, message: 'success', data: { status: 'ok', version: '0.1.0' } })
    expect(body.data.uptime_s).toBeGreaterThanOrEqual(0)
    const mode = process.env.DATABASE_URL ? 'external' : 'embedded'
    expect(body.data.checks.database).toEqual({ status: 'ok', latency_ms: expect.any(Number), mode })
  })

  it('GET /health/ready answers like /health, and 503 once shutdown began', async () => {
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json().data.status).toBe('ok')
  })

  it('GET /health/live answers 200', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/live' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ code: 200, message: 'success', data: { status: 'ok' } })
  })

  it('GET /metrics exposes request counts by route template, latency, event-loop lag and pool gauges', async () => {
    await t.app.inject({ method: 'GET', url: '/health/live' })
    await t.app.inject({ method: 'GET', url: '/api/v1/some/raw/url?x=1' })
    const res = await t.app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/plain')
    expect(res.body).toMatch(/http_requests_total\{method="GET",route="\/health\/live",status="200"\} [1-9]/)
    expect(res.body).toMatch(/http_requests_total\{method="GET",route="unmatched",status="404"\} 1/)
    expect(res.body).not.toContain('/some/raw/url')
    expect(res.body).toContain('http_request_duration_seconds_bucket')
    expect(res.body).toContain('nodejs_eventloop_lag_seconds')
    expect(res.body).toMatch(/folio_db_pool\{state="max"\} [1-9]/)
    expect(res.body).toMatch(/folio_db_pool\{state="in_flight"\} \d+/)
    expect(res.body).toMatch(/folio_outbox_events\{state="unpublished"\} \d+/)
  })

  it('GET /openapi.json documents every route with responses and the security schemes', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' })
    expect(res.statusCode).toBe(200)
    const doc = res.json()
    expect(doc.openapi).toMatch(/^3\./)
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.components.securitySchemes.apiKeyAuth).toMatchObject({ type: 'apiKey', name: 'X-API-Key' })
    expect(doc.paths['/health'].get.responses['503']).toBeDefined()
    expect(doc.paths['/metrics']).toBeUndefined()
    for (const [path, item] of Object.entries<Record<string, { responses?: object }>>(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(Object.keys(op.responses ?? {}), `${method} ${path}`).not.toHaveLength(0)
      }
    }
  })
})

describe('GET /health with the database unreachable', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/folio' })
  })
  afterAll(() => t.close())

  it('answers 503 naming the failing check, while /health/live stays 200', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' })
    expect(res.statusCode).toBe(503)
    const body = res.json()
    expect(body.code).toBe(503)
    expect(body.message).toContain('database')
    expect(body.detail.status).toBe('down')
    expect(body.detail.checks.database).toMatchObject({ status: 'down', mode: 'external' })
    const live = await t.app.inject({ method: 'GET', url: '/health/live' })
    expect(live.statusCode).toBe(200)
  })
})

describe('readiness during shutdown', () => {
  it('turns /health/ready to 503 once shutdown began', async () => {
    const t = await createTestApp()
    try {
      t.app.beginShutdown()
      const res = await t.app.inject({ method: 'GET', url: '/health/ready' })
      expect(res.statusCode).toBe(503)
      expect(res.json().detail.status).toBe('down')
    } finally {
      await t.close()
    }
  })
})
