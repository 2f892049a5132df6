/** Error codes of the network and of PostgreSQL that mean "the dependency is unreachable". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EPIPE',
  // postgres.js: a connection lost, shut, or not opened in time.
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now
  '08000', // connection_exception
  '08001',
  '08003',
  '08004',
  '08006',
])

/**
 * Whether an error (or one of its causes) says a dependency could not be reached, as opposed to a
 * bug or a refused query.
 *
 * @param error anything thrown
 */
export function isConnectionFailure(error: unknown): boolean {
  let current: unknown = error
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true
    if (current instanceof AggregateError && current.errors.some(isConnectionFailure)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}
