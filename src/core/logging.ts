import { AsyncLocalStorage } from 'node:async_hooks'
import type { FastifyBaseLogger } from 'fastify'
import pino, { type Logger, type LoggerOptions } from 'pino'
import type { Settings } from './config.ts'

/** What rides along with one unit of work (a request, or an event being handled). */
export interface RequestContext {
  requestId: string
  log: FastifyBaseLogger
}

/** The async context of the current request or event; read by {@link currentLog} and the outbox. */
export const requestContext = new AsyncLocalStorage<RequestContext>()

/** What a secret is replaced with in a log line. */
export const REDACTED = '[redacted]'

/** Top-level fields of a log line replaced whole. */
const SECRET_FIELDS = new Set(['password', 'token'])
/** Fields replaced one level down, under any top-level key (`{ body: { password } }`). */
const NESTED_SECRET_FIELDS = [
  'password',
  'current_password',
  'new_password',
  'hashed_password',
  'token',
  'access_token',
  'refresh_token',
  'csrf_token',
  'key',
  'secret',
]
/** Credential headers replaced under `headers`, and under `req.headers` and `res.headers`. */
const SECRET_HEADERS: Record<string, readonly string[]> = {
  headers: ['authorization', 'cookie'],
  req: ['authorization', 'cookie', 'x-api-key', 'x-csrf-token'],
  res: ['set-cookie'],
}

type Fields = Record<string, unknown>

/**
 * A shallow copy that keeps the prototype and every own property, read as a value (an Error keeps its
 * message and its stack, which V8 computes through an accessor bound to the original).
 */
function copyOf(value: object): Fields {
  const copy = Object.create(Object.getPrototypeOf(value)) as Fields
  for (const key of Reflect.ownKeys(value)) {
    const { enumerable } = Object.getOwnPropertyDescriptor(value, key)!
    const own = (value as Record<PropertyKey, unknown>)[key]
    Object.defineProperty(copy, key, { value: own, enumerable, writable: true, configurable: true })
  }
  return copy
}

/** `value` with its own `fields` replaced, or `value` itself when it has none of them. */
function withoutFields(value: object, fields: readonly string[]): object {
  let copy: Fields | undefined
  for (const field of fields) {
    if (Object.hasOwn(value, field)) {
      copy ??= copyOf(value)
      Object.defineProperty(copy, field, {
        value: REDACTED,
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
  }
  return copy ?? value
}

/** The value of a top-level key with the secrets below it replaced (a copy; the caller's object is untouched). */
function redactNested(key: string, value: object): object {
  // JSON leaves out an array's named properties, so there is nothing to hide in one.
  if (Array.isArray(value)) return value
  let out = withoutFields(
    value,
    key === 'headers' ? [...NESTED_SECRET_FIELDS, ...SECRET_HEADERS.headers!] : NESTED_SECRET_FIELDS,
  )
  const headerNames = key === 'req' || key === 'res' ? SECRET_HEADERS[key] : undefined
  const headers = (value as Fields).headers
  if (headerNames && headers !== null && typeof headers === 'object' && !Array.isArray(headers)) {
    const cleaned = withoutFields(headers, headerNames)
    if (cleaned !== headers) {
      if (out === value) out = copyOf(value)
      ;(out as Fields).headers = cleaned
    }
  }
  return out
}

/**
 * Replaces secrets in a log line's fields with {@link REDACTED}: the top-level `password` and
 * `token`; `password`, `current_password`, `new_password`, `hashed_password`, `token`,
 * `access_token`, `refresh_token`, `csrf_token`, `key` and `secret` under any top-level key; the
 * `authorization` and `cookie` headers under `headers`, those and `x-api-key` and `x-csrf-token`
 * under `req.headers`, and `set-cookie` under `res.headers`. It copies what it changes and never
 * touches the caller's objects. A line without secrets costs a walk over its top-level keys, where
 * pino's path-based `redact` parsed every path for every field of every line.
 *
 * @param fields a log line's merging object, or a child logger's bindings
 * @returns `fields`, or a copy with the secrets replaced
 */
export function redactSecrets(fields: Fields): Fields {
  let out: Fields | undefined
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue
    const value = fields[key]
    let next = value
    if (SECRET_FIELDS.has(key)) next = value === undefined ? value : REDACTED
    else if (value !== null && typeof value === 'object') next = redactNested(key, value)
    if (next !== value) {
      out ??= { ...fields }
      out[key] = next
    }
  }
  return out ?? fields
}

/**
 * Pino options for the process: JSON everywhere, pretty-printed in development, secrets redacted
 * ({@link redactSecrets}).
 *
 * @param settings the process settings
 * @returns options for `pino()` or Fastify's `logger`
 */
export function loggerOptions(settings: Pick<Settings, 'appEnv' | 'logLevel'>): LoggerOptions {
  return {
    level: settings.logLevel,
    base: { service: 'folio' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }), log: redactSecrets, bindings: redactSecrets },
    ...(settings.appEnv === 'development'
      ? {
          transport: {
            target: 'pino-pretty',
            options: { translateTime: 'SYS:HH:MM:ss.l', singleLine: true },
          },
        }
      : {}),
  }
}

/**
 * Creates the root logger of the process. The bindings of its children (and theirs: they inherit
 * `child`) are redacted like log lines, since pino gives children no bindings formatter.
 *
 * @param settings the process settings
 * @param destination where lines go (standard output by default)
 * @returns the root pino logger
 */
export function createLogger(
  settings: Pick<Settings, 'appEnv' | 'logLevel'>,
  destination?: pino.DestinationStream,
): Logger {
  const logger = destination ? pino(loggerOptions(settings), destination) : pino(loggerOptions(settings))
  const child = logger.child
  logger.child = function redactedChild(this: Logger, bindings, options) {
    return child.call(this, redactSecrets(bindings), options)
  } as Logger['child']
  return logger
}

/**
 * The logger of the current request or event (its lines carry `request_id`), else the fallback.
 *
 * @param fallback the logger to use outside any request or event
 */
export function currentLog(fallback: FastifyBaseLogger): FastifyBaseLogger {
  return requestContext.getStore()?.log ?? fallback
}

/** The current request ID, or undefined outside a request or event. */
export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId
}
