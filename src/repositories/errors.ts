/**
 * The constraint a UNIQUE violation (SQLSTATE 23505) broke, looking through Drizzle's wrapping of
 * the driver's error, or null for any other error.
 *
 * @param error anything a query threw
 */
export function uniqueViolationOf(error: unknown): string | null {
  let current: unknown = error
  for (let depth = 0; current && depth < 4; depth++) {
    // postgres.js names the constraint `constraint_name`; PGlite, like libpq, `constraint`.
    const { code, constraint, constraint_name } = current as Record<string, unknown>
    if (code === '23505') {
      const name = constraint_name ?? constraint
      return typeof name === 'string' ? name : 'unknown'
    }
    current = (current as { cause?: unknown }).cause
  }
  return null
}
