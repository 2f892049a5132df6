import { eq, ilike } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseHandle } from '../../src/core/database.ts'
import { users } from '../../src/models/user.ts'
import { UserRepository } from '../../src/repositories/user_repo.ts'
import { testDatabase } from '../support/database.ts'
import { unique, userValues } from '../support/factories.ts'

describe('BaseRepository (through UserRepository)', () => {
  let database: DatabaseHandle
  let repo: UserRepository

  beforeAll(async () => {
    database = await testDatabase()
    repo = new UserRepository(database.db)
  })
  afterAll(() => database.close())

  it('creates a row with a UUID v7 id made by the app and the defaults', async () => {
    const user = await repo.create(userValues())
    expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(user.isActive).toBe(true)
    expect(user.isSuperuser).toBe(false)
    expect(user.createdAt).toBeInstanceOf(Date)
    expect(user.deletedAt).toBeNull()
    expect(await repo.getById(user.id)).toEqual(user)
  })

  it('updates a row and refreshes updated_at', async () => {
    const user = await repo.create(userValues())
    await new Promise((resolve) => setTimeout(resolve, 5))
    const updated = await repo.update(user.id, { fullName: 'Renamed' })
    expect(updated?.fullName).toBe('Renamed')
    expect(updated!.updatedAt!.getTime()).toBeGreaterThan(user.updatedAt!.getTime())
  })

  it('soft-deletes: the row disappears from every read but stays stored', async () => {
    const user = await repo.create(userValues())
    expect(await repo.softDelete(user.id)).toBe(true)
    expect(await repo.getById(user.id)).toBeNull()
    expect(await repo.getByEmail(user.email)).toBeNull()
    expect(await repo.update(user.id, { fullName: 'ghost' })).toBeNull()
    expect(await repo.softDelete(user.id)).toBe(false)
    const stored = await database.db.select().from(users).where(eq(users.id, user.id))
    expect(stored[0]?.deletedAt).toBeInstanceOf(Date)
  })

  it('lists a page with filters, sort and the total, excluding deleted rows', async () => {
    const tag = unique()
    const made = []
    for (const n of [3, 1, 2, 4, 5]) {
      made.push(await repo.create(userValues({ fullName: `${tag} ${n}`, username: `${tag}_${n}` })))
    }
    await repo.softDelete(made[4]!.id)
    const filter = { where: [ilike(users.fullName, `${tag}%`)] }
    const first = await repo.list({ page: 1, size: 2 }, { ...filter, sort: 'username' })
    expect(first.total).toBe(4)
    expect(first.items.map((u) => u.username)).toEqual([`${tag}_1`, `${tag}_2`])
    const last = await repo.list({ page: 2, size: 2 }, { ...filter, sort: '-username' })
    expect(last.items.map((u) => u.username)).toEqual([`${tag}_2`, `${tag}_1`])
    const past = await repo.list({ page: 9, size: 2 }, filter)
    expect(past).toEqual({ items: [], total: 4 })
  })

  it('refuses a sort key outside the allow-list', async () => {
    await expect(repo.list({ page: 1, size: 1 }, { sort: 'hashed_password' })).rejects.toThrow(/allow-list/)
  })

  it('works inside a transaction, and a rollback leaves nothing', async () => {
    const values = userValues()
    await expect(
      database.db.transaction(async (tx) => {
        const user = await repo.create(values, tx)
        expect(await repo.getById(user.id, tx)).not.toBeNull()
        const page = await repo.list({ page: 1, size: 1 }, { where: [eq(users.id, user.id)] }, tx)
        expect(page.total).toBe(1)
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    expect(await repo.getByEmail(values.email)).toBeNull()
  })

  it('reports taken emails and usernames, deleted rows included', async () => {
    const user = await repo.create(userValues())
    await repo.softDelete(user.id)
    expect(await repo.isTaken(user.email, 'someone-else')).toEqual({ email: true, username: false })
    expect(await repo.isTaken('x@example.com', user.username)).toEqual({ email: false, username: true })
  })
})
