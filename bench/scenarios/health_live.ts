import { type Scenario, sendJson } from '../scenario.ts'

/** The cheapest route: measures the framework, hooks and logging plumbing against bare `node:http`. */
const healthLive: Scenario = {
  name: 'health_live',
  method: 'GET',
  path: '/health/live',
  target: 0.75,
  bare: (_req, res) => sendJson(res, 200, { code: 200, message: 'success', data: { status: 'ok' } }),
}

export default healthLive
