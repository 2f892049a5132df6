import { setTimeout as sleep } from 'node:timers/promises'
import { BENCH_PASSWORD, registerAndLogin } from './identity.ts'
import { drain, type RunFigures, runLoad, type WireRequest } from './load.ts'
import type { Measurement } from './measurement.ts'

/** Connections hammering the login route: the runner's usual load. */
const STORM_CONNECTIONS = 50
/** The probe: a few connections at a modest rate, like a load balancer's liveness checks. */
const PROBE_CONNECTIONS = 5
const PROBE_RATE = 100
/** Logins queue for seconds under the storm: let them, rather than count them as timeouts. */
const STORM_TIMEOUT_S = 60
/** The storm runs this long before the probe starts, so the probe sees the thread pool saturated. */
const LEAD_S = 2

const live: WireRequest = { method: 'GET', path: '/health/live', headers: {} }

function describeRun(label: string, figures: RunFigures): void {
  process.stdout.write(
    `  ${label.padEnd(20)} ${Math.round(figures.reqPerSec)} req/s, p50 ${figures.p50Ms} ms, ` +
      `p99 ${figures.p99Ms} ms, non-2xx ${figures.non2xx}, errors ${figures.errors}\n`,
  )
}

/**
 * Login storm (issue 4): while 50 connections hammer `POST /auth/login` (bcrypt cost 12, right
 * password), a light probe measures `GET /health/live` on the same service. bcrypt runs on libuv's
 * thread pool, so the event loop should stay responsive: target probe p99 < 50 ms. The probe is also
 * measured alone first, for comparison. Few logins complete during the storm (each waits behind up
 * to 50 others for a 4-thread pool); `drainMs` is how long the queue it left takes to empty.
 */
const loginStorm: Measurement = {
  name: 'login_storm',
  usesService: true,
  budgetS: (durationS) => 60 + 2 * durationS + LEAD_S + STORM_TIMEOUT_S,
  async run(ctx) {
    if (!ctx.service) throw new Error('login_storm needs the running service')
    const { url, setup } = ctx.service
    const user = await registerAndLogin(setup, 'storm')
    const login: WireRequest = {
      method: 'POST',
      path: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: BENCH_PASSWORD }),
    }
    const probeShape = {
      connections: PROBE_CONNECTIONS,
      pipelining: 1,
      durationS: ctx.durationS,
      rate: PROBE_RATE,
    }
    const quiet = await runLoad(url, live, probeShape)
    describeRun('probe alone', quiet)
    const stormShape = { connections: STORM_CONNECTIONS, pipelining: 1, timeoutS: STORM_TIMEOUT_S }
    const [storm, probe] = await Promise.all([
      runLoad(url, login, { ...stormShape, durationS: LEAD_S + ctx.durationS }),
      sleep(LEAD_S * 1000).then(() => runLoad(url, live, probeShape)),
    ])
    describeRun('login storm', storm)
    describeRun('probe during storm', probe)
    // The logins the storm left queued run on; one more login, queued behind them, ends when they have.
    const drainMs = await drain(url, login)
    if (probe.errors > 0 || probe.non2xx > 0)
      throw new Error(`probe failed: ${JSON.stringify(probe.statusCodes)}`)
    return {
      name: 'login_storm',
      description: `GET /health/live p99 (${PROBE_CONNECTIONS} conn, ${PROBE_RATE} req/s) while ${STORM_CONNECTIONS} conn hammer POST /api/v1/auth/login`,
      figures: {
        probeP99Ms: probe.p99Ms,
        probeP50Ms: probe.p50Ms,
        quietProbeP99Ms: quiet.p99Ms,
        loginResponses: storm.responses,
        loginNon2xx: storm.non2xx,
        drainMs,
      },
      target: { figure: 'probeP99Ms', lessThan: 50 },
    }
  },
}

export default loginStorm
