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

/** Paths never written to the logs in clear. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'password',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.hashed_password',
  'token',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.csrf_token',
  '*.key',
  '*.secret',
]

/**
 * Pino options for the process: JSON everywhere, pretty-printed in development, secrets redacted.
 *
 * @param settings the process settings
 * @returns options for `pino()` or Fastify's `logger`
 */
export function loggerOptions(settings: Pick<Settings, 'appEnv' | 'logLevel'>): LoggerOptions {
  return {
    level: settings.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'folio' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
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
 * Creates the root logger of the process.
 *
 * @param settings the process settings
 * @returns the root pino logger
 */
export function createLogger(settings: Pick<Settings, 'appEnv' | 'logLevel'>): Logger {
  return pino(loggerOptions(settings))
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
