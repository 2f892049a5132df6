import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadSettings, SettingsError } from '../../src/core/config.ts'

const STRONG_SECRET = 'x'.repeat(32)
const PRODUCTION = {
  APP_ENV: 'production',
  JWT_SECRET: STRONG_SECRET,
  CORS_ORIGINS: 'https://app.example.com',
  DATABASE_URL: 'postgres://db:5432/folio',
  REDIS_URL: 'redis://cache:6379',
  RABBITMQ_URL: 'amqp://mq:5672',
  S3_ENDPOINT: 'http://minio:9000',
  SMTP_URL: 'smtp://mail:25',
}

function emptyDir(): string {
  return mkdtempSync(join(tmpdir(), 'folio-config-'))
}

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadSettings(env, emptyDir())
  } catch (error) {
    if (error instanceof SettingsError) return error.problems
    throw error
  }
  return []
}

describe('loadSettings', () => {
  it('applies the documented defaults', () => {
    const settings = loadSettings({}, emptyDir())
    expect(settings.appEnv).toBe('development')
    expect(settings.port).toBe(8000)
    expect(settings.host).toBe('0.0.0.0')
    expect(settings.accessTokenTtlSeconds).toBe(900)
    expect(settings.refreshTokenTtlSeconds).toBe(2_592_000)
    expect(settings.bcryptRounds).toBe(12)
    expect(settings.rateLimit).toEqual({
      enabled: true,
      anonPerMinute: 300,
      userPerMinute: 1200,
      loginPerMinute: 20,
      signupPerHour: 10,
    })
    expect(settings.databaseUrl).toBeUndefined()
    expect(settings.workerPrefetch).toBe(32)
    expect(settings.eventsRetentionDays).toBe(7)
  })

  it('generates a random JWT secret per process outside production', () => {
    const a = loadSettings({}, emptyDir())
    const b = loadSettings({}, emptyDir())
    expect(a.jwtSecretGenerated).toBe(true)
    expect(Buffer.byteLength(a.jwtSecret)).toBeGreaterThanOrEqual(32)
    expect(a.jwtSecret).not.toBe(b.jwtSecret)
  })

  it('layers .env, .env.<APP_ENV>, .env.local, then the process environment', () => {
    const dir = emptyDir()
    writeFileSync(
      join(dir, '.env'),
      'APP_ENV=test\nPORT=1001\nLOG_LEVEL=debug\nHOST=10.0.0.1\nS3_BUCKET=from-env\n',
    )
    writeFileSync(join(dir, '.env.test'), 'PORT=1002\nLOG_LEVEL=warn\nS3_BUCKET=from-env-test\n')
    writeFileSync(join(dir, '.env.local'), 'PORT=1003\nS3_BUCKET=from-local\n')
    const settings = loadSettings({ S3_BUCKET: 'from-process' }, dir)
    expect(settings.appEnv).toBe('test')
    expect(settings.host).toBe('10.0.0.1')
    expect(settings.logLevel).toBe('warn')
    expect(settings.port).toBe(1003)
    expect(settings.s3.bucket).toBe('from-process')
  })

  it('accepts a complete production configuration', () => {
    const settings = loadSettings(PRODUCTION, emptyDir())
    expect(settings.appEnv).toBe('production')
    expect(settings.jwtSecretGenerated).toBe(false)
    expect(settings.corsOrigins).toEqual(['https://app.example.com'])
  })

  it.each([
    ['JWT_SECRET', { JWT_SECRET: 'short-secret' }],
    ['JWT_SECRET', { JWT_SECRET: undefined }],
    ['CORS_ORIGINS', { CORS_ORIGINS: '*' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: undefined }],
    ['BCRYPT_ROUNDS', { BCRYPT_ROUNDS: '11' }],
    ['DATABASE_URL', { DATABASE_URL: undefined }],
    ['REDIS_URL', { REDIS_URL: undefined }],
    ['RABBITMQ_URL', { RABBITMQ_URL: undefined }],
    ['S3_ENDPOINT', { S3_ENDPOINT: undefined }],
    ['SMTP_URL', { SMTP_URL: undefined }],
  ])('refuses production with a bad %s, naming it in one line', (name, change) => {
    const problems = problemsOf({ ...PRODUCTION, ...change })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(new RegExp(`^${name} `))
  })

  it('allows BCRYPT_ROUNDS below 12 only with APP_ENV=test', () => {
    expect(loadSettings({ APP_ENV: 'test', BCRYPT_ROUNDS: '4' }, emptyDir()).bcryptRounds).toBe(4)
    expect(problemsOf({ APP_ENV: 'development', BCRYPT_ROUNDS: '4' })).toEqual([
      'BCRYPT_ROUNDS must be at least 12 outside APP_ENV=test',
    ])
  })

  it('refuses malformed values with the variable named', () => {
    const problems = problemsOf({ PORT: 'eighty', DATABASE_URL: 'mysql://x', APP_ENV: 'staging' })
    expect(problems).toHaveLength(3)
    expect(problems.join('\n')).toMatch(/^APP_ENV /m)
    expect(problems.join('\n')).toMatch(/^PORT /m)
    expect(problems.join('\n')).toMatch(/^DATABASE_URL /m)
  })

  it('bounds WORKER_PREFETCH to 1-1000', () => {
    expect(loadSettings({ WORKER_PREFETCH: '100' }, emptyDir()).workerPrefetch).toBe(100)
    expect(problemsOf({ WORKER_PREFETCH: '0' }).join('\n')).toMatch(/^WORKER_PREFETCH /m)
    expect(problemsOf({ WORKER_PREFETCH: '5000' }).join('\n')).toMatch(/^WORKER_PREFETCH /m)
  })

  it('makes the server exit non-zero with one line per refused variable', () => {
    const result = spawnSync(process.execPath, ['src/main.ts'], {
      env: { PATH: process.env.PATH, ...PRODUCTION, JWT_SECRET: 'too-short', CORS_ORIGINS: '*' },
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(result.status).toBe(1)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toEqual([
      'config error: JWT_SECRET must be at least 32 bytes',
      'config error: CORS_ORIGINS must not be "*" in production',
    ])
  })
})
