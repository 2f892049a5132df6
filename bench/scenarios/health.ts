import { type BareContext, type Scenario, sendJson } from '../scenario.ts'

function elapsedMs(start: number): number {
  return Math.round((performance.now() - start) * 100) / 100
}

/** The bare `/health`: one `SELECT 1` with postgres.js, as the service's pool does, the same body shape. */
async function bareHealth(ctx: BareContext) {
  const start = performance.now()
  await ctx.sql()`SELECT 1`
  const database = { status: 'ok', latency_ms: elapsedMs(start), mode: ctx.modes.database }
  const idle = (mode: string) => ({ status: 'ok', latency_ms: 0, mode })
  return {
    code: 200,
    message: 'success',
    data: {
      status: 'ok',
      version: ctx.version,
      uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
      checks: {
        database,
        cache: idle(ctx.modes.cache),
        broker: idle(ctx.modes.broker),
        storage: idle(ctx.modes.storage),
      },
    },
  }
}

/**
 * The dependency probe. The service pings every dependency; the bare server only the database, so
 * the ratio is informative, not a goal.
 */
const health: Scenario = {
  name: 'health',
  method: 'GET',
  path: '/health',
  bare: async (_req, res, ctx) => sendJson(res, 200, await bareHealth(ctx)),
}

export default health
