import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, type DatabaseHandle, ensureDatabaseExists } from '../../src/core/database.ts'
import { dropDatabase, POSTGRES_SERVER_URL, serviceAvailable } from '../support/services.ts'

const CATALOG_QUERIES = {
  columns: `SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default
            FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, column_name`,
  indexes: `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
            ORDER BY tablename, indexname`,
  constraints: `SELECT tc.table_name, tc.constraint_name, tc.constraint_type
                FROM information_schema.table_constraints tc
                WHERE tc.table_schema = 'public' AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
                ORDER BY tc.table_name, tc.constraint_name`,
}

async function catalog(database: DatabaseHandle): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {}
  for (const [name, query] of Object.entries(CATALOG_QUERIES)) {
    const result = await database.db.execute(sql.raw(query))
    // postgres.js answers with the rows, PGlite with a result holding them.
    out[name] = Array.isArray(result) ? [...result] : (result as unknown as { rows: unknown[] }).rows
  }
  return out
}

const pgUp = await serviceAvailable(POSTGRES_SERVER_URL, 'PostgreSQL')

describe.runIf(pgUp)('migrations on PostgreSQL and PGlite', () => {
  const name = `folio_catalog_${randomBytes(4).toString('hex')}`
  const url = Object.assign(new URL(POSTGRES_SERVER_URL), { pathname: `/${name}` }).toString()
  let external: DatabaseHandle
  let embedded: DatabaseHandle

  beforeAll(async () => {
    expect(await ensureDatabaseExists(url)).toBe(true)
    external = createDatabase({ url, embeddedDir: '' })
    embedded = createDatabase({ url: undefined, embeddedDir: mkdtempSync(join(tmpdir(), 'folio-pglite-')) })
    await Promise.all([external.migrate(), embedded.migrate()])
  })

  afterAll(async () => {
    await Promise.all([external?.close(), embedded?.close()])
    await dropDatabase(POSTGRES_SERVER_URL, name)
  })

  it('yield the same tables, columns, indexes and constraints', async () => {
    const [a, b] = await Promise.all([catalog(external), catalog(embedded)])
    expect(a.columns?.length).toBeGreaterThan(10)
    expect(b).toEqual(a)
  })

  it('define users and refresh_tokens as the specification does, without foreign keys', async () => {
    const { columns, indexes, constraints } = await catalog(external)
    const users = (columns as { table_name: string; column_name: string }[])
      .filter((c) => c.table_name === 'users')
      .map((c) => c.column_name)
    expect(users).toEqual(
      expect.arrayContaining([
        'id',
        'email',
        'username',
        'hashed_password',
        'full_name',
        'is_active',
        'is_superuser',
        'is_verified',
        'created_at',
        'updated_at',
        'deleted_at',
      ]),
    )
    expect(columns).toContainEqual(
      expect.objectContaining({
        table_name: 'users',
        column_name: 'email',
        data_type: 'character varying',
        character_maximum_length: 255,
        is_nullable: 'NO',
      }),
    )
    expect(columns).toContainEqual(
      expect.objectContaining({
        table_name: 'refresh_tokens',
        column_name: 'expires_at',
        data_type: 'timestamp with time zone',
        is_nullable: 'NO',
      }),
    )
    const indexNames = (indexes as { indexname: string }[]).map((i) => i.indexname)
    expect(indexNames).toEqual(
      expect.arrayContaining([
        'users_email_unique',
        'users_username_unique',
        'ix_users_deleted_at',
        'refresh_tokens_token_unique',
        'ix_refresh_tokens_user_id',
        'ix_refresh_tokens_expires_at',
      ]),
    )
    expect(
      (constraints as { constraint_type: string }[]).filter((c) => c.constraint_type === 'FOREIGN KEY'),
    ).toEqual([])
  })

  it('are applied once: migrating again changes nothing', async () => {
    const before = await catalog(external)
    await external.migrate()
    expect(await catalog(external)).toEqual(before)
  })
})
