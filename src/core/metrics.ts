import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** A source of gauge readings sampled at scrape time (pool sizes, queue depths). */
export type GaugeSource = () => Record<string, number> | Promise<Record<string, number>>

/** The Prometheus metrics of one app instance, on its own registry. */
export interface Metrics {
  registry: Registry
  /**
   * Records one finished HTTP request.
   * @param method the HTTP method
   * @param route the route template (never the raw URL, so label cardinality stays bounded)
   * @param status the response status
   * @param seconds the time taken
   */
  observeRequest(method: string, route: string, status: number, seconds: number): void
  /**
   * Adds gauges read at every scrape.
   * @param name the gauge name, e.g. `folio_db_pool_connections`
   * @param help its description
   * @param source returns the value per `state` label
   */
  addGaugeSource(name: string, help: string, source: GaugeSource): void
}

/**
 * Creates the metrics: request count and latency by route and status, the Node.js process metrics
 * (event-loop lag included), and gauges registered by the ports.
 */
export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 })
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      const labels = { method, route, status: String(status) }
      requests.inc(labels)
      duration.observe(labels, seconds)
    },
    addGaugeSource(name, help, source) {
      new Gauge({
        name,
        help,
        labelNames: ['state'] as const,
        registers: [registry],
        async collect() {
          // A failing source (its store is down) leaves the last reading rather than failing the scrape.
          const readings = await Promise.resolve()
            .then(source)
            .catch(() => ({}))
          for (const [state, value] of Object.entries(readings)) this.set({ state }, value)
        },
      })
    },
  }
}
