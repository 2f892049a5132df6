import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'
import { DEFAULT_CONSUME_OPTIONS } from './broker_common.ts'

/** The deployment environment: it picks the `.env.<APP_ENV>` file and how strict validation is. */
export type AppEnv = 'development' | 'test' | 'production'

/** Typed, validated settings of one process. Built once by {@link loadSettings}. */
export interface Settings {
  appEnv: AppEnv
  version: string
  host: string
  port: number
  logLevel: string
  /** Where embedded stores keep their data (PGlite, local-disk objects). */
  dataDir: string
  databaseUrl: string | undefined
  redisUrl: string | undefined
  rabbitmqUrl: string | undefined
  s3: {
    endpoint: string | undefined
    accessKey: string
    secretKey: string
    bucket: string
    region: string
  }
  smtpUrl: string | undefined
  mailFrom: string
  publicBaseUrl: string
  jwtSecret: string
  /** True when no JWT_SECRET was given and a random per-process one is used (never in production). */
  jwtSecretGenerated: boolean
  accessTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
  bcryptRounds: number
  corsOrigins: string[]
  /** `false`, `true`, a hop count, or a comma-separated list of proxy addresses/CIDRs (Fastify `trustProxy`). */
  trustProxy: boolean | number | string
  rateLimit: {
    enabled: boolean
    anonPerMinute: number
    userPerMinute: number
    loginPerMinute: number
    signupPerHour: number
  }
  uploadMaxBytes: number
  /** Prefix of every cache key, so several deployments (or test runs) can share one Redis. */
  cacheKeyPrefix: string
  /** The topic exchange events are published to. */
  eventsExchange: string
  /** Prefix of the worker's queue names. */
  eventsQueuePrefix: string
  /** Events each worker queue hands its consumer at once, handled concurrently. */
  workerPrefetch: number
  /** Days published events and idempotency-ledger lines are kept before the API prunes them. */
  eventsRetentionDays: number
  firstSuperuserEmail: string | undefined
  firstSuperuserPassword: string | undefined
}

/** Thrown when the configuration is unusable; each problem is one line naming its variable. */
export class SettingsError extends Error {
  readonly problems: string[]

  /** @param problems one human-readable line per refused variable */
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'SettingsError'
    this.problems = problems
  }
}

const APP_ENVS: readonly AppEnv[] = ['development', 'test', 'production']
const MIN_JWT_SECRET_BYTES = 32
const MIN_PRODUCTION_BCRYPT_ROUNDS = 12
const EXTERNAL_SERVICES = ['DATABASE_URL', 'REDIS_URL', 'RABBITMQ_URL', 'S3_ENDPOINT', 'SMTP_URL'] as const

type Env = Record<string, string | undefined>

function readEnvFile(path: string): Env {
  return existsSync(path) ? parseEnv(readFileSync(path, 'utf8')) : {}
}

/**
 * Merges the configuration layers, later ones winning: `.env`, `.env.<APP_ENV>`, `.env.local`, then
 * the process environment.
 *
 * @param env the process environment
 * @param cwd the folder holding the `.env` files
 * @returns the merged variables
 */
export function mergeEnvLayers(env: Env, cwd: string): Env {
  const base = readEnvFile(resolve(cwd, '.env'))
  const appEnv = env.APP_ENV ?? base.APP_ENV ?? 'development'
  return {
    ...base,
    ...readEnvFile(resolve(cwd, `.env.${appEnv}`)),
    ...readEnvFile(resolve(cwd, '.env.local')),
    ...env,
  }
}

/** Reads typed values from the merged variables, collecting one problem line per bad variable. */
class EnvReader {
  readonly problems: string[] = []
  readonly #env: Env

  constructor(env: Env) {
    this.#env = env
  }

  /** The trimmed value, or undefined when unset or empty. */
  str(name: string): string | undefined {
    const value = this.#env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.str(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`)
      return fallback
    }
    return value
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.str(name)?.toLowerCase()
    if (raw === undefined) return fallback
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true
    if (['0', 'false', 'no', 'off'].includes(raw)) return false
    this.problems.push(`${name} must be true or false (got "${raw}")`)
    return fallback
  }

  url(name: string, protocols: string[]): string | undefined {
    const raw = this.str(name)
    if (raw === undefined) return undefined
    let parsed: URL
    try {
      parsed = new URL(raw)
    } catch {
      this.problems.push(`${name} is not a valid URL`)
      return undefined
    }
    if (!protocols.includes(parsed.protocol)) {
      this.problems.push(`${name} must use ${protocols.join(' or ')} (got "${parsed.protocol}")`)
      return undefined
    }
    return raw
  }
}

function parseTrustProxy(raw: string | undefined): boolean | number | string {
  if (raw === undefined || raw === 'false') return false
  if (raw === 'true') return true
  return /^\d+$/.test(raw) ? Number(raw) : raw
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string
    }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
}

/**
 * Builds the settings from the process environment and the `.env` layers and validates them.
 *
 * @param env the process environment (defaults to `process.env`)
 * @param cwd the folder holding the `.env` files (defaults to the working directory)
 * @returns the validated settings
 * @throws {SettingsError} listing every refused variable, one line each
 */
export function loadSettings(env: Env = process.env, cwd = process.cwd()): Settings {
  const merged = mergeEnvLayers(env, cwd)
  const r = new EnvReader(merged)

  const appEnvRaw = r.str('APP_ENV') ?? 'development'
  const appEnv = APP_ENVS.includes(appEnvRaw as AppEnv) ? (appEnvRaw as AppEnv) : 'development'
  if (appEnv !== appEnvRaw)
    r.problems.push(`APP_ENV must be one of ${APP_ENVS.join(', ')} (got "${appEnvRaw}")`)
  const production = appEnv === 'production'

  const jwtSecretRaw = r.str('JWT_SECRET')
  if (jwtSecretRaw !== undefined && Buffer.byteLength(jwtSecretRaw) < MIN_JWT_SECRET_BYTES) {
    r.problems.push(`JWT_SECRET must be at least ${MIN_JWT_SECRET_BYTES} bytes`)
  }
  if (jwtSecretRaw === undefined && production) {
    r.problems.push(`JWT_SECRET is required in production (at least ${MIN_JWT_SECRET_BYTES} bytes)`)
  }

  const bcryptRounds = r.int('BCRYPT_ROUNDS', 12, 4, 20)
  if (bcryptRounds < MIN_PRODUCTION_BCRYPT_ROUNDS && appEnv !== 'test') {
    r.problems.push(`BCRYPT_ROUNDS must be at least ${MIN_PRODUCTION_BCRYPT_ROUNDS} outside APP_ENV=test`)
  }

  const corsOrigins = (r.str('CORS_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter(Boolean)
  if (production && corsOrigins.length === 0) r.problems.push('CORS_ORIGINS is required in production')
  if (production && corsOrigins.includes('*')) r.problems.push('CORS_ORIGINS must not be "*" in production')

  const settings: Settings = {
    appEnv,
    version: readVersion(),
    host: r.str('HOST') ?? '0.0.0.0',
    port: r.int('PORT', 8000, 0, 65535),
    logLevel: r.str('LOG_LEVEL') ?? 'info',
    dataDir: resolve(cwd, r.str('DATA_DIR') ?? 'data'),
    databaseUrl: r.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: r.url('REDIS_URL', ['redis:', 'rediss:']),
    rabbitmqUrl: r.url('RABBITMQ_URL', ['amqp:', 'amqps:']),
    s3: {
      endpoint: r.url('S3_ENDPOINT', ['http:', 'https:']),
      accessKey: r.str('S3_ACCESS_KEY') ?? 'minioadmin',
      secretKey: r.str('S3_SECRET_KEY') ?? 'minioadmin',
      bucket: r.str('S3_BUCKET') ?? 'folio',
      region: r.str('S3_REGION') ?? 'us-east-1',
    },
    smtpUrl: r.url('SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: r.str('MAIL_FROM') ?? 'Folio <no-reply@folio.local>',
    publicBaseUrl: (r.url('PUBLIC_BASE_URL', ['http:', 'https:']) ?? 'http://localhost:8000').replace(
      /\/+$/,
      '',
    ),
    jwtSecret: jwtSecretRaw ?? randomBytes(48).toString('base64url'),
    jwtSecretGenerated: jwtSecretRaw === undefined,
    accessTokenTtlSeconds: r.int('ACCESS_TOKEN_TTL_SECONDS', 900, 1),
    refreshTokenTtlSeconds: r.int('REFRESH_TOKEN_TTL_SECONDS', 2_592_000, 1),
    bcryptRounds,
    corsOrigins,
    trustProxy: parseTrustProxy(r.str('TRUST_PROXY')),
    rateLimit: {
      enabled: r.bool('RATE_LIMIT_ENABLED', true),
      anonPerMinute: r.int('RATE_LIMIT_ANON_PER_MINUTE', 300, 1),
      userPerMinute: r.int('RATE_LIMIT_USER_PER_MINUTE', 1200, 1),
      loginPerMinute: r.int('RATE_LIMIT_LOGIN_PER_MINUTE', 20, 1),
      signupPerHour: r.int('RATE_LIMIT_SIGNUP_PER_HOUR', 10, 1),
    },
    uploadMaxBytes: r.int('UPLOAD_MAX_BYTES', 10 * 1024 * 1024, 1),
    cacheKeyPrefix: r.str('CACHE_KEY_PREFIX') ?? 'folio:',
    eventsExchange: r.str('EVENTS_EXCHANGE') ?? 'app.events',
    eventsQueuePrefix: r.str('EVENTS_QUEUE_PREFIX') ?? 'folio.worker',
    workerPrefetch: r.int('WORKER_PREFETCH', DEFAULT_CONSUME_OPTIONS.prefetch, 1, 1_000),
    eventsRetentionDays: r.int('EVENTS_RETENTION_DAYS', 7, 1, 3_650),
    firstSuperuserEmail: r.str('FIRST_SUPERUSER_EMAIL')?.toLowerCase(),
    firstSuperuserPassword: r.str('FIRST_SUPERUSER_PASSWORD'),
  }

  if (production) {
    for (const name of EXTERNAL_SERVICES) {
      if (r.str(name) === undefined)
        r.problems.push(`${name} is required in production (embedded stores are refused)`)
    }
  }
  if (r.problems.length > 0) throw new SettingsError(r.problems)
  return settings
}
