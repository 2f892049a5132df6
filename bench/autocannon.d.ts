/**
 * The part of autocannon 8's programmatic API the benchmarks use (the package ships no types).
 * Latencies are in milliseconds, request rates in requests per second sampled once a second.
 */
declare module 'autocannon' {
  namespace autocannon {
    /** One request as autocannon builds it, before it is encoded. */
    interface RequestParams {
      method?: string
      path?: string
      headers?: Record<string, string>
      body?: string | Buffer
    }

    /** Called before each request of a `requests` entry; may change it (a falsy result skips it). */
    type SetupRequest = (request: RequestParams) => RequestParams

    /** Options of one load run. */
    interface Options {
      url: string
      connections?: number
      pipelining?: number
      /** Seconds. */
      duration?: number
      /** Seconds before a request counts as timed out. */
      timeout?: number
      /** Requests per second over all connections (no limit when absent). */
      overallRate?: number
      method?: string
      headers?: Record<string, string>
      body?: string | Buffer
      /** Requests each connection sends in turn, on top of the options above. */
      requests?: (RequestParams & { setupRequest?: SetupRequest })[]
    }

    /** Summary statistics of one measured quantity. */
    interface Histogram {
      average: number
      mean: number
      stddev: number
      min: number
      max: number
      total: number
      p50: number
      p90: number
      p99: number
    }

    /** What one load run reports. */
    interface Result {
      requests: Histogram
      latency: Histogram
      throughput: Histogram
      errors: number
      timeouts: number
      non2xx: number
      resets: number
      '2xx': number
      statusCodeStats: Record<string, { count: number }>
      /** Seconds actually run. */
      duration: number
    }
  }

  /** Runs one load test; resolves when it is over. */
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>

  export = autocannon
}
