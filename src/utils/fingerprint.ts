import { createHash } from 'node:crypto'

/**
 * JSON with object keys sorted at every level, so bodies that differ only in key order serialise alike.
 * @param value a JSON-compatible value
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/**
 * The fingerprint of a JSON request body, for `Idempotency-Key` checks: SHA-256 (hex) of its
 * canonical JSON, so the same body sent with its keys in another order matches.
 * @param body the parsed body
 */
export function bodyFingerprint(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex')
}
