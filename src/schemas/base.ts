import { type SchemaOptions, type Static, type TSchema, Type } from '@sinclair/typebox'

/** A UUID string (the ids are UUID v7, made by the service). */
export const Uuid = Type.String({ format: 'uuid', description: 'UUID v7' })

/**
 * `schema` or null, as OpenAPI 3.0 writes it (`nullable: true`) rather than `anyOf` with a null type:
 * Ajv reads it the same, and fast-json-stringify serialises it with one null check where an `anyOf`
 * made it run the first branch's validator (a date-time format check, say) on every value.
 * @param schema a schema with a single `type`
 * @param options more keywords (a description)
 */
export function Nullable<T extends TSchema>(schema: T, options: SchemaOptions = {}) {
  return Type.Unsafe<Static<T> | null>({ ...schema, ...options, nullable: true })
}

/** An ISO 8601 UTC timestamp with milliseconds. */
export const Timestamp = Type.String({ format: 'date-time', examples: ['2026-11-25T03:04:05.123Z'] })

/** The error envelope: HTTP status = `code`; `detail` is optional and never holds internals. */
export const ErrorEnvelope = Type.Object(
  {
    code: Type.Integer({ examples: [404] }),
    message: Type.String({ examples: ['Post not found'] }),
    detail: Type.Optional(Type.Unknown({ description: 'string, object or array; null when absent' })),
  },
  { title: 'Error' },
)
export type ErrorBody = Static<typeof ErrorEnvelope>

/**
 * The success envelope around `data`.
 * @param data the schema of the payload
 */
export function Envelope<T extends TSchema>(data: T) {
  return Type.Object({
    code: Type.Integer({ examples: [200] }),
    message: Type.String({ examples: ['success'] }),
    data,
  })
}

/** The envelope of a response whose `data` is `null` (deletes, logouts, accepted requests). */
export const NullEnvelope = Envelope(Type.Null())

/** Page meta: `pages = ceil(total / size)`, `has_next = page < pages`, `has_prev = page > 1`. */
export const PageMeta = Type.Object({
  total: Type.Integer({ minimum: 0 }),
  page: Type.Integer({ minimum: 1 }),
  size: Type.Integer({ minimum: 1 }),
  pages: Type.Integer({ minimum: 0 }),
  has_next: Type.Boolean(),
  has_prev: Type.Boolean(),
})
export type PageMetaBody = Static<typeof PageMeta>

/**
 * A page of items with its meta.
 * @param item the schema of one item
 */
export function Page<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), meta: PageMeta })
}

/** The query parameters of every paginated list. */
export const PaginationQuery = Type.Object({
  page: Type.Integer({ minimum: 1, default: 1, description: 'page number, from 1' }),
  size: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'items per page, 1..100' }),
})
export type Pagination = Static<typeof PaginationQuery>

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request or broken business rule',
  401: 'Missing, invalid, expired or revoked credentials',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  413: 'Body too large',
  415: 'Unsupported media type',
  422: 'Validation error: `detail` lists `{loc, msg, type}`',
  429: 'Rate limit exceeded (see `Retry-After`)',
  500: 'Internal Server Error',
  503: 'A dependency is unavailable',
}

/** Errors any route can answer: rate limited, unexpected, dependency down. */
const ALWAYS = [429, 500, 503]

/**
 * The response schemas of a route: its success schemas plus the error envelope for each error status.
 *
 * @param success the success schemas by status, e.g. `{ 200: Envelope(UserPublic) }`
 * @param errors the error statuses the route can answer besides 429, 500 and 503
 * @returns a Fastify `response` schema map
 */
export function responses(success: Record<number, TSchema>, errors: number[] = []): Record<number, TSchema> {
  const map: Record<number, TSchema> = { ...success }
  for (const status of [...errors, ...ALWAYS]) {
    map[status] = { ...ErrorEnvelope, description: ERROR_DESCRIPTIONS[status] ?? 'Error' }
  }
  return map
}

/** The optional `Idempotency-Key` header of the creation routes (API.md: 1-255 characters). */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'repeats with the same key within 24 hours get the first response again',
    }),
  ),
})
export type IdempotencyHeadersInput = Static<typeof IdempotencyHeaders>
