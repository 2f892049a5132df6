import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance, type FastifyRequest, type LightMyRequestResponse } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Cache, createCache } from '../../src/core/cache.ts'
import type { Settings } from '../../src/core/config.ts'
import { registerErrorHandling } from '../../src/middleware/error_handler.ts'
import { registerRateLimit } from '../../src/middleware/rate_limit.ts'
import { createTestApp, type TestApp } from '../support/app.ts'
import { bearer, createUser, loginAs } from '../support/auth.ts'
import { removeRedisKeys, testKeyPrefix } from '../support/redis.ts'
import { serviceAvailable } from '../support/services.ts'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const redisUp = await serviceAvailable(REDIS_URL, 'Redis')
const RUN_PREFIX = testKeyPrefix()

const EXEMPT_URLS = ['/health', '/health/live', '/metrics', '/openapi.json', '/docs', '/docs/static/x.js']

interface LimitedAppOptions {
  limits?: Partial<Settings['rateLimit']>
  windowSecondsOverride?: number
  trustProxy?: boolean
  /** Plays the auth hook's look-ups for `X-Test-Claimed-User` (default: confirms at once). */
  settle?: (request: FastifyRequest) => Promise<void>
}

/**
 * A small app with the real error handling and the limiter: `/api/v1/things` (default budgets),
 * `POST /api/v1/auth/login` (bucket `login`, 2 per window), `/api/v1/open` (exempt by config), and the
 * operations paths. An earlier hook plays the auth hook: `X-Test-User` becomes the rate-limit subject;
 * `X-Test-Claimed-User` a provisional one, confirmed or withdrawn by `options.settle`.
 */
async function limitedApp(cache: Cache, options: LimitedAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ trustProxy: options.trustProxy ?? false })
  registerErrorHandling(app, false)
  app.addHook('onRequest', async (request) => {
    const user = request.headers['x-test-user']
    if (typeof user === 'string') request.rateLimitSubject = user
    const claimed = request.headers['x-test-claimed-user']
    if (typeof claimed === 'string') {
      request.rateLimitSubject = claimed
      request.rateLimitSubjectSettled = (options.settle ?? (async () => {}))(request)
    }
  })
  registerRateLimit(app, {
    cache,
    settings: {
      enabled: true,
      anonPerMinute: 3,
      userPerMinute: 5,
      loginPerMinute: 20,
      signupPerHour: 10,
      ...options.limits,
    },
    windowSecondsOverride: options.windowSecondsOverride,
  })
  const handler = async () => ({ code: 200, message: 'success', data: null })
  app.get('/api/v1/things', handler)
  app.post(
    '/api/v1/auth/login',
    { config: { rateLimit: { bucket: 'login', max: 2, windowSeconds: 60 } } },
    handler,
  )
  app.get('/api/v1/open', { config: { rateLimit: false } }, handler)
  for (const url of EXEMPT_URLS) app.get(url, handler)
  await app.ready()
  return app
}

function rateHeaders(res: LightMyRequestResponse) {
  return {
    limit: res.headers['ratelimit-limit'],
    remaining: res.headers['ratelimit-remaining'],
  }
}

function resetOf(res: LightMyRequestResponse): number {
  return Number(res.headers['ratelimit-reset'])
}

function rateLimitSuite(makeCache: () => Cache): void {
  const open: { app: FastifyInstance; cache: Cache }[] = []
  afterEach(async () => {
    for (const { app, cache } of open.splice(0)) {
      await app.close()
      await cache.close()
    }
  })
  async function setup(
    options: LimitedAppOptions = {},
    wrap = (cache: Cache) => cache,
  ): Promise<FastifyInstance> {
    const cache = makeCache()
    const app = await limitedApp(wrap(cache), options)
    open.push({ app, cache })
    return app
  }

  it('counts a provisional subject while it is being confirmed, not after', async () => {
    const counted: string[] = []
    const counting = (cache: Cache): Cache =>
      Object.assign(Object.create(cache), {
        incr: (key: string, windowSeconds: number) => {
          counted.push(key)
          return cache.incr(key, windowSeconds)
        },
      })
    let confirm = () => {}
    const confirmed = new Promise<void>((resolve) => {
      confirm = resolve
    })
    const app = await setup({ limits: { userPerMinute: 3 }, settle: () => confirmed }, counting)

    const response = app.inject({
      method: 'GET',
      url: '/api/v1/things',
      headers: { 'x-test-claimed-user': 'carol' },
    })
    await vi.waitFor(() => expect(counted).toEqual(['rl:user:carol']))
    confirm()

    const res = await response
    expect(res.statusCode).toBe(200)
    expect(rateHeaders(res)).toEqual({ limit: '3', remaining: '2' })
    expect(counted).toEqual(['rl:user:carol'])
  })

  it('counts a withdrawn subject against the IP as well, and the user count stands', async () => {
    const app = await setup({
      limits: { anonPerMinute: 1, userPerMinute: 3 },
      settle: async (request) => {
        await new Promise((resolve) => setImmediate(resolve))
        request.rateLimitSubject = undefined
      },
    })
    const refused = () =>
      app.inject({ method: 'GET', url: '/api/v1/things', headers: { 'x-test-claimed-user': 'mallory' } })

    const first = await refused()
    expect(first.statusCode).toBe(200)
    expect(rateHeaders(first)).toEqual({ limit: '1', remaining: '0' })
    expect((await refused()).statusCode).toBe(429)
    const confirmedLater = await app.inject({
      method: 'GET',
      url: '/api/v1/things',
      headers: { 'x-test-user': 'mallory' },
    })
    expect(rateHeaders(confirmedLater)).toEqual({ limit: '3', remaining: '0' })
  })

  it('answers 429 exactly at request N+1 with the envelope, Retry-After and RateLimit headers', async () => {
    const app = await setup({ limits: { anonPerMinute: 3 } })
    for (const remaining of ['2', '1', '0']) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/things' })
      expect(res.statusCode).toBe(200)
      expect(rateHeaders(res)).toEqual({ limit: '3', remaining })
      expect(resetOf(res)).toBeGreaterThanOrEqual(1)
      expect(resetOf(res)).toBeLessThanOrEqual(60)
    }
    const limited = await app.inject({ method: 'GET', url: '/api/v1/things' })
    expect(limited.statusCode).toBe(429)
    expect(limited.json()).toEqual({ code: 429, message: 'Too many requests', detail: null })
    expect(rateHeaders(limited)).toEqual({ limit: '3', remaining: '0' })
    expect(Number(limited.headers['retry-after'])).toBe(resetOf(limited))
    expect(resetOf(limited)).toBeGreaterThanOrEqual(59)
  })

  it('admits requests again once the window has reset', async () => {
    const app = await setup({ limits: { anonPerMinute: 2 }, windowSecondsOverride: 1 })
    await app.inject({ method: 'GET', url: '/api/v1/things' })
    await app.inject({ method: 'GET', url: '/api/v1/things' })
    const limited = await app.inject({ method: 'GET', url: '/api/v1/things' })
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['retry-after']).toBe('1')
    await sleep(1_100)
    const again = await app.inject({ method: 'GET', url: '/api/v1/things' })
    expect(again.statusCode).toBe(200)
    expect(rateHeaders(again)).toEqual({ limit: '2', remaining: '1' })
  })

  it('counts a route bucket per IP and against the IP anonymous budget too', async () => {
    const app = await setup({ limits: { anonPerMinute: 5 } })
    const login = (remoteAddress = '127.0.0.1') =>
      app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress })
    expect(rateHeaders(await login())).toEqual({ limit: '2', remaining: '1' })
    expect(rateHeaders(await login())).toEqual({ limit: '2', remaining: '0' })
    const third = await login()
    expect(third.statusCode).toBe(429)
    expect(rateHeaders(third)).toEqual({ limit: '2', remaining: '0' })

    // Three login attempts spent three of the five anonymous requests of this IP.
    const next = await app.inject({ method: 'GET', url: '/api/v1/things' })
    expect(next.statusCode).toBe(200)
    expect(rateHeaders(next)).toEqual({ limit: '5', remaining: '1' })
    expect((await app.inject({ method: 'GET', url: '/api/v1/things' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/api/v1/things' })).statusCode).toBe(429)

    const otherIp = await login('10.0.0.9')
    expect(otherIp.statusCode).toBe(200)
    expect(rateHeaders(otherIp)).toEqual({ limit: '2', remaining: '1' })

    // An authenticated attempt on a bucketed route spends the IP's anonymous budget as well.
    const signedIn = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: '10.0.0.8',
      headers: { 'x-test-user': 'dave' },
    })
    expect(signedIn.statusCode).toBe(200)
    const afterSignedIn = await app.inject({
      method: 'GET',
      url: '/api/v1/things',
      remoteAddress: '10.0.0.8',
    })
    expect(rateHeaders(afterSignedIn)).toEqual({ limit: '5', remaining: '3' })
  })

  it('counts an authenticated request against its user, not its IP', async () => {
    const app = await setup({ limits: { anonPerMinute: 1, userPerMinute: 3 } })
    const asUser = (user: string) =>
      app.inject({ method: 'GET', url: '/api/v1/things', headers: { 'x-test-user': user } })
    for (const remaining of ['2', '1', '0']) {
      const res = await asUser('alice')
      expect(res.statusCode).toBe(200)
      expect(rateHeaders(res)).toEqual({ limit: '3', remaining })
    }
    expect((await asUser('alice')).statusCode).toBe(429)

    const anonymous = await app.inject({ method: 'GET', url: '/api/v1/things' })
    expect(anonymous.statusCode).toBe(200)
    expect(rateHeaders(anonymous)).toEqual({ limit: '1', remaining: '0' })
    const bob = await asUser('bob')
    expect(bob.statusCode).toBe(200)
    expect(rateHeaders(bob)).toEqual({ limit: '3', remaining: '2' })
  })

  it('keeps a budget per client IP, from X-Forwarded-For only when proxies are trusted', async () => {
    const direct = await setup({ limits: { anonPerMinute: 1 } })
    const from = (app: FastifyInstance, remoteAddress: string, forwardedFor: string) =>
      app.inject({
        method: 'GET',
        url: '/api/v1/things',
        remoteAddress,
        headers: { 'x-forwarded-for': forwardedFor },
      })
    expect((await from(direct, '10.0.0.1', '203.0.113.1')).statusCode).toBe(200)
    expect((await from(direct, '10.0.0.1', '203.0.113.2')).statusCode).toBe(429)
    expect((await from(direct, '10.0.0.2', '203.0.113.1')).statusCode).toBe(200)

    const proxied = await setup({ limits: { anonPerMinute: 1 }, trustProxy: true })
    expect((await from(proxied, '10.0.0.1', '203.0.113.1')).statusCode).toBe(200)
    expect((await from(proxied, '10.0.0.1', '203.0.113.2')).statusCode).toBe(200)
    expect((await from(proxied, '10.0.0.2', '203.0.113.1')).statusCode).toBe(429)
  })

  it('never limits operations, documentation and exempt routes, nor counts them', async () => {
    const app = await setup({ limits: { anonPerMinute: 1 } })
    for (const url of [...EXEMPT_URLS, '/api/v1/open']) {
      for (let i = 0; i < 3; i++) {
        const res = await app.inject({ method: 'GET', url })
        expect(res.statusCode, url).toBe(200)
        expect(res.headers['ratelimit-limit'], url).toBeUndefined()
      }
    }
    const counted = await app.inject({ method: 'GET', url: '/api/v1/things' })
    expect(counted.statusCode).toBe(200)
    expect(rateHeaders(counted)).toEqual({ limit: '1', remaining: '0' })
  })

  it('installs nothing when rate limiting is disabled', async () => {
    const app = await setup({ limits: { enabled: false, anonPerMinute: 1 } })
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/things' })
      expect(res.statusCode).toBe(200)
      expect(res.headers['ratelimit-limit']).toBeUndefined()
    }
  })
}

describe('rate limiting on the in-process cache', () => {
  rateLimitSuite(() => createCache({ url: undefined, keyPrefix: '' }))
})

describe.runIf(redisUp)('rate limiting on Redis', () => {
  afterAll(() => removeRedisKeys(REDIS_URL, RUN_PREFIX))

  let runs = 0
  rateLimitSuite(() => {
    runs += 1
    return createCache({ url: REDIS_URL, keyPrefix: `${RUN_PREFIX}${runs}:` })
  })
})

describe('rate limiting with the cache unreachable', () => {
  it('fails closed: a limited route answers 503 within 1 s, exempt routes still answer', async () => {
    const cache = createCache({ url: 'redis://127.0.0.1:1', keyPrefix: RUN_PREFIX })
    const app = await limitedApp(cache)
    try {
      const started = performance.now()
      const res = await app.inject({ method: 'GET', url: '/api/v1/things' })
      expect(performance.now() - started).toBeLessThan(1_000)
      expect(res.statusCode).toBe(503)
      expect(res.json()).toEqual({
        code: 503,
        message: 'Service unavailable: cache is not reachable',
        detail: { dependency: 'cache' },
      })
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200)
    } finally {
      await app.close()
      await cache.close()
    }
  })
})

describe('rate limiting of Bearer requests in the app', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_ANON_PER_MINUTE: '100', RATE_LIMIT_USER_PER_MINUTE: '10' })
  })
  afterAll(async () => t?.close())

  it('counts a refused access token (session ended) against its user and the client IP', async () => {
    const account = await createUser(t.app) // the IP's first request
    const session = await loginAs(t.app, account) // its second
    const me = () => t.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(session) })

    expect(rateHeaders(await me())).toEqual({ limit: '10', remaining: '9' })
    const logout = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(session),
    })
    expect(logout.statusCode).toBe(200)

    const refused = await me()
    expect(refused.statusCode).toBe(401)
    expect(rateHeaders(refused)).toEqual({ limit: '10', remaining: '7' })
    const anonymous = await t.app.inject({ method: 'GET', url: '/api/v1/posts' })
    expect(rateHeaders(anonymous)).toEqual({ limit: '100', remaining: '96' })
  })
})
