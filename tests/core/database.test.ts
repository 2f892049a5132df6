import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, type DatabaseHandle } from '../../src/core/database.ts'
import { isConnectionFailure } from '../../src/core/errors.ts'
import { users } from '../../src/models/user.ts'
import { uniqueViolationOf } from '../../src/repositories/errors.ts'
import { userValues } from '../support/factories.ts'
import { serviceAvailable, TEST_DATABASE_URL } from '../support/services.ts'

// The test database when one is configured (CI's); without it the suite runs on PGlite, covered elsewhere.
const url = TEST_DATABASE_URL
const pgUp = url !== undefined && (await serviceAvailable(url, 'PostgreSQL'))

describe.runIf(pgUp)('the PostgreSQL database port (postgres.js)', () => {
  let database: DatabaseHandle

  beforeAll(async () => {
    database = createDatabase({ url: url!, embeddedDir: '', poolSize: 2 })
    await database.migrate()
  })
  afterAll(() => database.close())

  it('counts statements and transactions until they are answered', async () => {
    expect(database.poolStats()).toEqual({ max: 2, inFlight: 0 })
    // Drizzle sends a statement when it is awaited: `then` starts it.
    const sleeping = database.db.execute(sql`SELECT pg_sleep(0.2)`).then(() => {})
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const transaction = database.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT 1`)
      await held
    })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(database.poolStats().inFlight).toBe(2)
    await sleeping
    release()
    await transaction
    expect(database.poolStats().inFlight).toBe(0)
  })

  it('counts a refused statement out again', async () => {
    await expect(database.db.execute(sql`SELECT no_such_column`)).rejects.toThrow()
    expect(database.poolStats().inFlight).toBe(0)
  })

  it('names the constraint a duplicate broke', async () => {
    const values = userValues()
    await database.db.insert(users).values(values)
    const error = await database.db
      .insert(users)
      .values({ ...values, username: `${values.username}x` })
      .catch((e: unknown) => e)
    expect(uniqueViolationOf(error)).toMatch(/email/)
  })
})

describe('the PostgreSQL database port when the server is unreachable', () => {
  it('fails a ping at once with a dependency error', async () => {
    // Port 1 on loopback refuses connections.
    const database = createDatabase({ url: 'postgres://postgres@127.0.0.1:1/none', embeddedDir: '' })
    const started = Date.now()
    const error = await database.ping(2_000).catch((e: unknown) => e)
    expect(Date.now() - started).toBeLessThan(1_500)
    expect(error).toMatchObject({ statusCode: 503 })
    expect(isConnectionFailure(error)).toBe(true)
    await database.close()
  })
})
