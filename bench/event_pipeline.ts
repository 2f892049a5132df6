import { randomBytes, randomUUID } from 'node:crypto'
import pino from 'pino'
import { type Broker, createBroker, DEFAULT_CONSUME_OPTIONS } from '../src/core/broker.ts'
import type { Database, DatabaseHandle } from '../src/core/database.ts'
import { loggerOptions } from '../src/core/logging.ts'
import { recordEvents } from '../src/services/outbox.ts'
import { startEventPipeline } from '../src/workers/pipeline.ts'
import { HandlerRegistry } from '../src/workers/registry.ts'
import {
  createEventsDatabase,
  deleteTopology,
  type PipelineTuning,
  pipelineStats,
  readTuning,
} from './event_pipeline_support.ts'
import type { Measurement } from './measurement.ts'

/** Events pushed through the pipeline, and how many each recording transaction holds. */
const EVENTS = 10_000
const EVENTS_PER_TRANSACTION = 100
/** The longest the pipeline may take to hand every event to the handler. */
const DRAIN_TIMEOUT_MS = 120_000
const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
/** The handler logs a line per event at info level, as the worker does: to a file, not the terminal. */
const LOG_FILE = new URL('./results/events.log', import.meta.url)

/** Resolves once `count()` reaches `total`, or after `timeoutMs` (then with what it reached). */
function waitForCount(count: () => number, total: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs
    const timer = setInterval(() => {
      if (count() >= total || Date.now() > deadline) {
        clearInterval(timer)
        resolve(count())
      }
    }, 5)
  })
}

/** Records every event, a transaction at a time, waking the relay after each commit as services do. */
async function recordAll(db: Database, wake: () => void): Promise<void> {
  for (let recorded = 0; recorded < EVENTS; recorded += EVENTS_PER_TRANSACTION) {
    const events = Array.from({ length: EVENTS_PER_TRANSACTION }, () => ({
      type: 'user.registered' as const,
      data: { user_id: randomUUID() },
    }))
    await db.transaction((tx) => recordEvents(tx, events))
    wake()
  }
}

/** What one pipeline run needs. */
interface PipelineRig {
  database: DatabaseHandle
  broker: Broker
  log: pino.Logger
  queuePrefix: string
  tuning: PipelineTuning
}

/** Runs the pipeline over {@link EVENTS} events; resolves with the figures once all are handled or time is up. */
async function pushThrough(rig: PipelineRig): Promise<Record<string, number>> {
  const { database, broker, log, queuePrefix, tuning } = rig
  let handled = 0
  const registry = new HandlerRegistry().register('user.registered', {
    name: 'bench.count',
    handle: async () => {
      handled++
    },
  })
  const prefetch = tuning.prefetch ?? DEFAULT_CONSUME_OPTIONS.prefetch
  const pipeline = await startEventPipeline(
    { database, broker, log, registry },
    { relay: { batchSize: tuning.relayBatch }, consumer: { queuePrefix, prefetch } },
  )
  try {
    const started = performance.now()
    await recordAll(database.db, () => pipeline.wake())
    const recordMs = performance.now() - started
    const events = await waitForCount(() => handled, EVENTS, DRAIN_TIMEOUT_MS)
    const totalMs = performance.now() - started
    const stats = await pipelineStats(database.db)
    const { relayBatch, poolSize } = tuning
    return {
      eventsPerSec: (events / totalMs) * 1000,
      events,
      totalMs,
      recordMs,
      ...stats,
      relayBatch,
      prefetch,
      poolSize,
    }
  } finally {
    await pipeline.stop()
  }
}

/**
 * Event pipeline throughput (issue 3), in this process with the project's own modules: 10,000
 * `user.registered` events recorded in the outbox (100 per transaction, `wake()` after each commit)
 * on a fresh PostgreSQL database, relayed to RabbitMQ with publisher confirms, consumed through the
 * idempotency ledger by one no-op handler that counts them. Timed from the first recording to the
 * last handled event; target >= 2,000 events/s. Tuning for profiling: `BENCH_EVENTS_BATCH` (relay
 * batch), `BENCH_EVENTS_PREFETCH` (consumer prefetch), `BENCH_EVENTS_POOL` (database pool). The
 * exchange, its queues and the database are removed afterwards.
 */
const eventPipeline: Measurement = {
  name: 'event_pipeline',
  usesService: false,
  budgetS: () => 60 + DRAIN_TIMEOUT_MS / 1000,
  async run(ctx) {
    const tuning = readTuning()
    const suffix = randomBytes(4).toString('hex')
    const exchange = `folio-bench.events.${suffix}`
    const queuePrefix = `folio-bench.pipeline.${suffix}`
    const log = pino(
      loggerOptions({ appEnv: 'test', logLevel: 'info' }),
      pino.destination({ dest: LOG_FILE.pathname, mkdir: true }),
    )
    const events = await createEventsDatabase(ctx.databaseUrl, tuning.poolSize)
    const broker = createBroker({ rabbitmqUrl: RABBITMQ_URL }, log.child({ component: 'broker' }), {
      exchange,
    })
    try {
      const figures = await pushThrough({ database: events.database, broker, log, queuePrefix, tuning })
      process.stdout.write(`  ${Math.round(figures.eventsPerSec ?? 0)} events/s\n`)
      const missing = EVENTS - (figures.events ?? 0)
      return {
        name: 'event_pipeline',
        description: `${EVENTS} events: outbox (${EVENTS_PER_TRANSACTION}/tx) -> relay -> RabbitMQ -> consumer ack`,
        figures,
        target: { figure: 'eventsPerSec', atLeast: 2_000 },
        ...(missing > 0
          ? { error: `${missing} events not handled within ${DRAIN_TIMEOUT_MS / 1000} s` }
          : {}),
      }
    } finally {
      await broker.close().catch(() => {})
      await events.drop()
      await deleteTopology(RABBITMQ_URL, [exchange], `${queuePrefix}.default`)
      log.flush()
    }
  },
}

export default eventPipeline
