/**
 * The constraint a UNIQUE violation (SQLSTATE 23505) broke, looking through Drizzle's wrapping of
 * the driver's error, or null for any other error.
 *
 * @param error anything a query threw
 */
export function uniqueViolationOf(error: unknown): string | null {
  let current: unknown = error
  for (let depth = 0; current && depth < 4; depth++) {
    const { code, constraint } = current as { code?: unknown; constraint?: unknown }
    if (code === '23505') return typeof constraint === 'string' ? constraint : 'unknown'
    current = (current as { cause?: unknown }).cause
  }
  return null
}
