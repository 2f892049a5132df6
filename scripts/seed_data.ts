import { randomBytes } from 'node:crypto'
import { count, inArray } from 'drizzle-orm'
import type { Logger } from 'pino'
import { createDatabase, type Database, ensureDatabaseExists } from '../src/core/database.ts'
import { hashPassword } from '../src/core/security.ts'
import { type NewPost, posts } from '../src/models/post.ts'
import { UserRepository } from '../src/repositories/user_repo.ts'
import { runTask } from './cli.ts'
import { DEMO_USERS, type DemoUser, demoPosts } from './demo_content.ts'

/** Posts per INSERT statement. */
const BATCH_SIZE = 100

/** What one seed run created. */
interface SeedResult {
  /** The accounts created by this run with their one-time passwords. */
  created: { user: DemoUser; password: string }[]
  posts: number
}

/**
 * Creates the demo users that do not exist yet (by email), each with a fresh random password. One
 * whose email or username is held by a deleted or another account is left out, with a warning.
 */
async function ensureUsers(
  tx: Database,
  rounds: number,
  log: Logger,
): Promise<{ ids: Map<string, string>; created: SeedResult['created'] }> {
  const repo = new UserRepository(tx)
  const ids = new Map<string, string>()
  const created: SeedResult['created'] = []
  for (const user of DEMO_USERS) {
    const existing = await repo.getByEmail(user.email, tx)
    if (existing) {
      ids.set(user.email, existing.id)
      continue
    }
    const taken = await repo.isTaken(user.email, user.username, tx)
    if (taken.email || taken.username) {
      log.warn({ email: user.email }, 'demo user skipped: its email or username is held by another account')
      continue
    }
    const password = randomBytes(12).toString('base64url')
    const row = await repo.create(
      {
        email: user.email,
        username: user.username,
        fullName: user.fullName,
        hashedPassword: await hashPassword(password, rounds),
        isActive: true,
        isSuperuser: user.isSuperuser,
        isVerified: true,
      },
      tx,
    )
    ids.set(user.email, row.id)
    created.push({ user, password })
  }
  return { ids, created }
}

/** Writes the demo posts unless the demo writers already have posts (a previous run wrote them). */
async function ensurePosts(tx: Database, writerIds: string[]): Promise<number> {
  if (writerIds.length === 0) return 0
  const [existing] = await tx.select({ n: count() }).from(posts).where(inArray(posts.authorId, writerIds))
  if ((existing?.n ?? 0) > 0) return 0
  const rows: NewPost[] = demoPosts(writerIds.length, new Date()).map((post) => ({
    authorId: writerIds[post.writer]!,
    title: post.title,
    slug: post.slug,
    summary: post.summary,
    content: post.content,
    status: post.status,
    tags: post.tags,
    publishedAt: post.publishedAt,
    createdAt: post.createdAt,
    updatedAt: post.publishedAt ?? post.createdAt,
  }))
  for (let at = 0; at < rows.length; at += BATCH_SIZE) {
    await tx.insert(posts).values(rows.slice(at, at + BATCH_SIZE))
  }
  return rows.length
}

/**
 * Fills the demo data in one transaction, so a failed run leaves nothing half done and a second run
 * adds nothing: users are matched by email, posts by whether the demo writers have any.
 *
 * @param db the migrated database
 * @param rounds the bcrypt cost
 * @param log where skipped users are reported
 */
async function seed(db: Database, rounds: number, log: Logger): Promise<SeedResult> {
  return db.transaction(async (tx) => {
    const { ids, created } = await ensureUsers(tx, rounds, log)
    const writerIds = DEMO_USERS.flatMap((u) => (u.isSuperuser ? [] : (ids.get(u.email) ?? [])))
    return { created, posts: await ensurePosts(tx, writerIds) }
  })
}

/** Shows the new accounts' passwords once, on stdout: they are stored only as bcrypt hashes. */
function printCredentials(created: SeedResult['created'], log: Logger): void {
  if (created.length === 0) {
    log.info('demo users already exist: their passwords were shown when they were created')
    return
  }
  const lines = created.map(
    ({ user, password }) =>
      `  ${user.email.padEnd(24)} ${password}${user.isSuperuser ? '  (superuser)' : ''}`,
  )
  process.stdout.write(`Demo accounts (passwords are shown only this once):\n${lines.join('\n')}\n`)
}

/**
 * `npm run db:seed`: migrates, then creates the demo users (a superuser and five writers) and about
 * 300 posts with tags, some drafts and archived ones. Running it again adds nothing.
 */
await runTask('db:seed', async (settings, log) => {
  if (settings.databaseUrl && (await ensureDatabaseExists(settings.databaseUrl))) log.info('database created')
  const database = createDatabase({ url: settings.databaseUrl, embeddedDir: settings.dataDir })
  try {
    await database.migrate()
    const result = await seed(database.db, settings.bcryptRounds, log)
    printCredentials(result.created, log)
    log.info({ users: result.created.length, posts: result.posts }, 'demo data seeded')
  } finally {
    await database.close()
  }
})
