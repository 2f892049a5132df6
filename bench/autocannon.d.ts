/**
 * The part of autocannon 8's programmatic API the benchmarks use (the package ships no types).
 * Latencies are in milliseconds, request rates in requests per second sampled once a second.
 */
declare module 'autocannon' {
  namespace autocannon {
    /** Options of one load run. */
    interface Options {
      url: string
      connections?: number
      pipelining?: number
      /** Seconds. */
      duration?: number
      /** Seconds before a request counts as timed out. */
      timeout?: number
      method?: string
      headers?: Record<string, string>
      body?: string | Buffer
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
