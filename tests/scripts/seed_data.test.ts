import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { sql } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { createDatabase } from '../../src/core/database.ts'

const SCRIPT = resolve('scripts/seed_data.ts')

interface Counts {
  users: number
  superusers: number
  posts: number
  drafts: number
  archived: number
  published: number
  tagged: number
  hashes: string[]
}

/** Reads what the seed left in the embedded database (the script has exited, so the folder is free). */
async function counts(dataDir: string): Promise<Counts> {
  const database = createDatabase({ url: undefined, embeddedDir: dataDir })
  try {
    const rows = async (query: string) =>
      ((await database.db.execute(sql.raw(query))) as unknown as { rows: Record<string, unknown>[] }).rows
    const [users] = await rows(
      'SELECT count(*)::int AS n, count(*) FILTER (WHERE is_superuser)::int AS s FROM users',
    )
    const [posts] = await rows(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE status = 'draft' AND published_at IS NULL)::int AS d,
              count(*) FILTER (WHERE status = 'archived')::int AS a,
              count(*) FILTER (WHERE status = 'published' AND published_at IS NOT NULL)::int AS p,
              count(*) FILTER (WHERE cardinality(tags) > 0)::int AS t
         FROM posts`,
    )
    const hashes = await rows('SELECT hashed_password FROM users')
    return {
      users: Number(users?.n),
      superusers: Number(users?.s),
      posts: Number(posts?.n),
      drafts: Number(posts?.d),
      archived: Number(posts?.a),
      published: Number(posts?.p),
      tagged: Number(posts?.t),
      hashes: hashes.map((r) => String(r.hashed_password)),
    }
  } finally {
    await database.close()
  }
}

describe('npm run db:seed', () => {
  // The script runs in an empty folder, so no `.env` of the repository points it elsewhere.
  const dir = mkdtempSync(join(tmpdir(), 'folio-seed-'))
  const env = {
    PATH: process.env.PATH,
    APP_ENV: 'test',
    BCRYPT_ROUNDS: '4',
    DATA_DIR: dir,
    LOG_LEVEL: 'warn',
  }
  const run = () =>
    spawnSync(process.execPath, [SCRIPT], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 })

  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('creates demo users and posts once; a second run adds nothing', { timeout: 120_000 }, async () => {
    const first = run()
    expect(first.status, first.stderr + first.stdout).toBe(0)
    expect(first.stdout).toContain('admin@folio.local')
    expect(first.stdout.match(/@folio\.local +\S{16}/g)).toHaveLength(6)
    const second = run()
    expect(second.status, second.stderr + second.stdout).toBe(0)
    expect(second.stdout).not.toMatch(/@folio\.local +\S{16}/)

    // Absolute counts after both runs: anything the second run added would show here.
    const after = await counts(dir)
    expect(after).toMatchObject({ users: 6, superusers: 1, posts: 300, tagged: 300 })
    expect(after.drafts).toBeGreaterThan(0)
    expect(after.archived).toBeGreaterThan(0)
    expect(after.published + after.drafts + after.archived).toBe(300)
    for (const hash of after.hashes) expect(hash).toMatch(/^\$2b\$04\$/)
  })
})
