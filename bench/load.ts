import autocannon from 'autocannon'

/** The load each run applies. */
export interface LoadShape {
  connections: number
  pipelining: number
  /** Seconds measured per run. */
  durationS: number
  /** Seconds before a request counts as timed out (autocannon's default 10 when absent). */
  timeoutS?: number
  /** Requests per second over all connections, for a light probe (as fast as possible when absent). */
  rate?: number
}

/** One request, fully encoded. */
export interface WireRequest {
  method: string
  path: string
  headers: Record<string, string>
  body?: string
  /** Gives the path and/or body of each load request instead of the fixed ones (`RequestSpec.sequence`). */
  next?: () => { path?: string; body?: string }
}

/** The figures of one measured run. */
export interface RunFigures {
  reqPerSec: number
  p50Ms: number
  p99Ms: number
  /** Responses received. */
  responses: number
  non2xx: number
  /** Socket errors, timeouts included. */
  errors: number
  statusCodes: Record<string, number>
}

/** The figures of one server in one scenario: the median of its runs. */
export interface TargetFigures {
  reqPerSec: number
  p50Ms: number
  p99Ms: number
  /** Share of requests that failed or were not 2xx, over all runs (0..1). */
  failureRate: number
  runs: RunFigures[]
}

/** An autocannon `setupRequest` that takes each request's path and body from `next`. */
function varied(next: NonNullable<WireRequest['next']>): autocannon.SetupRequest {
  return (request) => ({ ...request, ...next() })
}

/**
 * Applies load to one server with autocannon.
 *
 * @param baseUrl `http://127.0.0.1:<port>`
 * @param request what every connection sends
 * @param shape connections, pipelining and duration
 * @returns the run's figures
 */
export async function runLoad(baseUrl: string, request: WireRequest, shape: LoadShape): Promise<RunFigures> {
  const result = await autocannon({
    url: `${baseUrl}${request.path}`,
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    connections: shape.connections,
    pipelining: shape.pipelining,
    duration: shape.durationS,
    ...(shape.timeoutS === undefined ? {} : { timeout: shape.timeoutS }),
    ...(shape.rate === undefined ? {} : { overallRate: shape.rate }),
    ...(request.next === undefined ? {} : { requests: [{ setupRequest: varied(request.next) }] }),
  })
  return {
    reqPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    responses: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]),
    ),
  }
}

/** How long {@link drain} waits at most. */
const DRAIN_TIMEOUT_MS = 120_000

/**
 * Sends one request and waits for its answer: on a server whose work queues in order (libuv's thread
 * pool), it ends once the work that earlier, abandoned requests left has run.
 *
 * @param baseUrl `http://127.0.0.1:<port>`
 * @param request the request
 * @returns how long it took in ms
 */
export async function drain(baseUrl: string, request: WireRequest): Promise<number> {
  const started = performance.now()
  const reply = await fetch(`${baseUrl}${request.path}`, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    signal: AbortSignal.timeout(DRAIN_TIMEOUT_MS),
  })
  await reply.arrayBuffer()
  return performance.now() - started
}

/**
 * The median of some numbers (the mean of the middle two for an even count).
 *
 * @param values at least one number
 * @returns the median
 */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Reduces the runs of one server to medians and an overall failure rate.
 *
 * @param runs at least one run
 * @returns the summary
 */
export function summarise(runs: RunFigures[]): TargetFigures {
  const failed = runs.reduce((n, r) => n + r.non2xx + r.errors, 0)
  const attempted = runs.reduce((n, r) => n + r.responses + r.errors, 0)
  return {
    reqPerSec: median(runs.map((r) => r.reqPerSec)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    failureRate: attempted === 0 ? 1 : failed / attempted,
    runs,
  }
}
