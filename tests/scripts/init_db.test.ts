import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { POSTGRES_SERVER_URL, serviceAvailable } from '../support/services.ts'

const pgUp = await serviceAvailable(POSTGRES_SERVER_URL, 'PostgreSQL')

async function query(url: string, text: string): Promise<Record<string, unknown>[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    return [...(await sql.unsafe<Record<string, unknown>[]>(text))]
  } finally {
    await sql.end()
  }
}

describe.runIf(pgUp)('npm run db:init and db:migrate', () => {
  const name = `folio_init_${randomBytes(4).toString('hex')}`
  const url = Object.assign(new URL(POSTGRES_SERVER_URL), { pathname: `/${name}` }).toString()
  const env = {
    PATH: process.env.PATH,
    APP_ENV: 'test',
    BCRYPT_ROUNDS: '12',
    DATABASE_URL: url,
    FIRST_SUPERUSER_EMAIL: 'Root@Example.com',
    FIRST_SUPERUSER_PASSWORD: 'a-long-enough-password',
  }

  afterAll(async () => {
    await query(POSTGRES_SERVER_URL, `DROP DATABASE IF EXISTS "${name}"`)
  })

  it('creates the missing database, migrates, and creates the first superuser once', async () => {
    const first = spawnSync(process.execPath, ['scripts/init_db.ts'], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(first.status, first.stderr).toBe(0)
    const users = await query(
      url,
      'SELECT email, is_superuser, is_verified, is_active, hashed_password FROM users',
    )
    expect(users).toHaveLength(1)
    expect(users[0]).toMatchObject({
      email: 'root@example.com',
      is_superuser: true,
      is_verified: true,
      is_active: true,
    })
    expect(String(users[0]?.hashed_password)).toMatch(/^\$2b\$12\$/)

    const again = spawnSync(process.execPath, ['scripts/init_db.ts'], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(again.status).toBe(0)
    expect(await query(url, 'SELECT id FROM users')).toHaveLength(1)

    const migrate = spawnSync(process.execPath, ['scripts/migrate.ts'], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(migrate.status).toBe(0)
    expect(migrate.stdout).toContain('migrations applied')
  })

  it('exits 1 with the variable named when the configuration is refused', () => {
    const result = spawnSync(process.execPath, ['scripts/migrate.ts'], {
      env: { PATH: process.env.PATH, DATABASE_URL: 'mysql://nope' },
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/^config error: DATABASE_URL /m)
  })
})
