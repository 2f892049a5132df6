import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseHandle } from '../../src/core/database.ts'
import { verifyPassword } from '../../src/core/security.ts'
import { UserRepository } from '../../src/repositories/user_repo.ts'
import { ensureFirstSuperuser } from '../../src/services/bootstrap_service.ts'
import { testSettings } from '../support/app.ts'
import { testDatabase } from '../support/database.ts'
import { unique, userValues } from '../support/factories.ts'

describe('ensureFirstSuperuser', () => {
  let database: DatabaseHandle
  const log = pino({ level: 'silent' })
  beforeAll(async () => {
    database = await testDatabase()
  })
  afterAll(() => database.close())

  it('creates an active, verified superuser once, with a bcrypt hash of the password', async () => {
    const email = `Boss-${unique()}@Example.com`
    const settings = testSettings({ FIRST_SUPERUSER_EMAIL: email, FIRST_SUPERUSER_PASSWORD: 'correct horse' })
    expect(await ensureFirstSuperuser(database.db, settings, log)).toBe(true)
    expect(await ensureFirstSuperuser(database.db, settings, log)).toBe(false)
    const user = await new UserRepository(database.db).getByEmail(email.toLowerCase())
    expect(user).toMatchObject({ isSuperuser: true, isVerified: true, isActive: true })
    expect(user!.username).toMatch(/^boss-[0-9a-f]+$/)
    expect(await verifyPassword('correct horse', user!.hashedPassword)).toBe(true)
  })

  it('picks a free username when the email local part is taken', async () => {
    const local = `taken_${unique()}`
    await new UserRepository(database.db).create(userValues({ username: local }))
    const settings = testSettings({
      FIRST_SUPERUSER_EMAIL: `${local}@example.org`,
      FIRST_SUPERUSER_PASSWORD: 'correct horse',
    })
    expect(await ensureFirstSuperuser(database.db, settings, log)).toBe(true)
    const user = await new UserRepository(database.db).getByEmail(`${local}@example.org`)
    expect(user?.username).toBe(`${local}-1`)
  })

  it('does nothing without both variables', async () => {
    expect(
      await ensureFirstSuperuser(database.db, testSettings({ FIRST_SUPERUSER_EMAIL: 'x@example.com' }), log),
    ).toBe(false)
  })
})
