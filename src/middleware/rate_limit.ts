import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Cache } from '../core/cache.ts'
import type { Settings } from '../core/config.ts'
import { HitCounter } from '../core/hit_counter.ts'
import { RateLimitException } from '../exceptions.ts'

/** A route's own limit, counted per client IP on top of the IP's anonymous budget. */
export interface RouteRateLimit {
  /** Names the counter, e.g. `login`; routes sharing a bucket share the count. */
  bucket: string
  /** Requests allowed per window. */
  max: number
  windowSeconds: number
}

/**
 * The `rateLimit` key of a route's `config`: a bucket of its own, or `false` to exempt the route.
 * E.g. `config: { rateLimit: { bucket: 'login', max: 20, windowSeconds: 60 } }`.
 */
export type RateLimitRouteConfig = RouteRateLimit | false

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook (a user id) before the limiter runs: the request then counts per user. */
    rateLimitSubject?: string
    /**
     * Set by the auth hook when `rateLimitSubject` is provisional (the user a signed token names, before
     * its session is looked up): settles, never rejecting, once the subject is confirmed or withdrawn.
     */
    rateLimitSubjectSettled?: Promise<void>
  }
  interface FastifyContextConfig {
    rateLimit?: RateLimitRouteConfig
  }
}

/** Options of {@link registerRateLimit}. */
export interface RateLimitOptions {
  /** Where the counters live; Redis shares them between instances. */
  cache: Cache
  settings: Settings['rateLimit']
  /** Replaces every window's length (tests use 1 s to see a window reset). */
  windowSecondsOverride?: number
}

/** The window of the per-IP and per-user budgets. */
const MINUTE_SECONDS = 60

/** Never limited: probes, scrapes and the documentation (registered outside the limited routes). */
const EXEMPT_PATH = /^\/(?:health|docs)(?:\/|$)|^\/(?:metrics|openapi\.json)$/

interface Budget {
  key: string
  limit: number
  windowSeconds: number
}

interface Usage {
  limit: number
  remaining: number
  resetSeconds: number
}

/** The budgets one request counts against, each a fixed-window counter in the cache. */
function budgetsOf(request: FastifyRequest, options: RateLimitOptions): Budget[] {
  const { settings, windowSecondsOverride } = options
  const window = (seconds: number) => windowSecondsOverride ?? seconds
  const anonymous = {
    key: `rl:ip:${request.ip}`,
    limit: settings.anonPerMinute,
    windowSeconds: window(MINUTE_SECONDS),
  }
  const budgets: Budget[] = []
  const subject = request.rateLimitSubject
  if (subject !== undefined) {
    budgets.push({
      key: `rl:user:${subject}`,
      limit: settings.userPerMinute,
      windowSeconds: window(MINUTE_SECONDS),
    })
  }
  const route = request.routeOptions.config.rateLimit
  if (route) {
    // API.md: the login, register and forgot-password limits also count against the IP's anonymous budget.
    budgets.push({
      key: `rl:route:${route.bucket}:${request.ip}`,
      limit: route.max,
      windowSeconds: window(route.windowSeconds),
    })
  }
  if (subject === undefined || route) budgets.push(anonymous)
  return budgets
}

/** The budget to report: the fewest requests left, and among those the longest wait. */
function tightest(usages: Usage[]): Usage {
  return usages.reduce((a, b) =>
    b.remaining < a.remaining || (b.remaining === a.remaining && b.resetSeconds > a.resetSeconds) ? b : a,
  )
}

function isExempt(request: FastifyRequest): boolean {
  if (request.routeOptions.config.rateLimit === false) return true
  return EXEMPT_PATH.test(request.url.split('?', 1)[0] ?? '')
}

function count(budgets: Budget[], counter: HitCounter) {
  return Promise.all(budgets.map((b) => counter.hit(b.key, b.windowSeconds)))
}

async function limit(
  request: FastifyRequest,
  reply: FastifyReply,
  options: RateLimitOptions,
  counter: HitCounter,
): Promise<void> {
  if (isExempt(request)) return
  const provisional = request.rateLimitSubject
  const budgets = budgetsOf(request, options)
  // Count against the provisional subject while the auth hook confirms it.
  const [counts] = await Promise.all([count(budgets, counter), request.rateLimitSubjectSettled])
  if (request.rateLimitSubject !== provisional) {
    // Withdrawn (refused credentials): the request also counts as what it turned out to be.
    const counted = new Set(budgets.map((b) => b.key))
    const more = budgetsOf(request, options).filter((b) => !counted.has(b.key))
    budgets.push(...more)
    counts.push(...(await count(more, counter)))
  }
  const usages = budgets.map(
    (budget, i): Usage => ({
      limit: budget.limit,
      remaining: Math.max(0, budget.limit - counts[i]!.count),
      resetSeconds: Math.max(1, Math.ceil(counts[i]!.ttlMs / 1000)),
    }),
  )
  const shown = tightest(usages)
  reply.header('ratelimit-limit', String(shown.limit))
  reply.header('ratelimit-remaining', String(shown.remaining))
  reply.header('ratelimit-reset', String(shown.resetSeconds))
  if (counts.some((c, i) => c.count > budgets[i]!.limit)) throw new RateLimitException(shown.resetSeconds)
}

/**
 * Installs the rate limiter: one `onRequest` hook counting each request in fixed windows kept in the
 * cache (so every instance shares them). A request with `rateLimitSubject` set counts against that
 * user's budget (`userPerMinute`), any other against its IP's anonymous budget (`anonPerMinute`;
 * `request.ip` honours `trustProxy`). A provisional subject (`rateLimitSubjectSettled` pending) is
 * counted at once, in parallel with its confirmation; when it is withdrawn the request counts against
 * the IP as well, and the user's count stands (a request with a validly signed but refused token
 * spends both budgets). A route's `config.rateLimit` bucket counts per IP and against
 * the IP's anonymous budget too; `config.rateLimit: false`, `/health*`, `/metrics`, `/docs*` and
 * `/openapi.json` are never limited. Responses carry `RateLimit-Limit`, `RateLimit-Remaining` and
 * `RateLimit-Reset` of the tightest budget; going over answers 429 with `Retry-After`. The hits of
 * one counter within one turn of the event loop go to the cache as one increment ({@link HitCounter}).
 *
 * The limiter fails closed: when the cache is unreachable the `DependencyException` propagates and
 * limited routes answer 503, since serving without limits would open login and sign-up to brute
 * force exactly while the platform is degraded. Exempt routes (health probes) keep answering.
 *
 * Register it after the hooks it depends on (request plumbing, and the auth hook that sets
 * `rateLimitSubject`): hooks run in registration order. With `settings.enabled` false no hook is
 * installed.
 *
 * @param app the Fastify instance, before its routes
 * @param options the cache, the limits and an optional window override
 */
export function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): void {
  if (!app.hasRequestDecorator('rateLimitSubject')) app.decorateRequest('rateLimitSubject', undefined)
  if (!options.settings.enabled) return
  const counter = new HitCounter(options.cache)
  app.addHook('onRequest', (request, reply) => limit(request, reply, options, counter))
}
