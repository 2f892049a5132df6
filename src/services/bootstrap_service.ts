import type { Logger } from 'pino'
import type { Settings } from '../core/config.ts'
import type { Database } from '../core/database.ts'
import { hashPassword } from '../core/security.ts'
import { UserRepository } from '../repositories/user_repo.ts'

/**
 * Creates the first superuser from `FIRST_SUPERUSER_EMAIL` and `FIRST_SUPERUSER_PASSWORD` when both
 * are set and no user holds that email yet. Safe to run at every start and from several instances:
 * a concurrent creation loses on the UNIQUE constraint and is ignored.
 *
 * @param db the database
 * @param settings the settings holding the superuser's credentials and the bcrypt cost
 * @param log where to report what was done
 * @returns true when the user was created
 */
export async function ensureFirstSuperuser(db: Database, settings: Settings, log: Logger): Promise<boolean> {
  const email = settings.firstSuperuserEmail
  const password = settings.firstSuperuserPassword
  if (!email || !password) return false
  const repo = new UserRepository(db)
  const taken = await repo.isTaken(email, email.split('@')[0] ?? email)
  if (taken.email) return false
  const username = await freeUsername(repo, email)
  const hashedPassword = await hashPassword(password, settings.bcryptRounds)
  try {
    await repo.create({
      email,
      username,
      hashedPassword,
      isActive: true,
      isSuperuser: true,
      isVerified: true,
    })
  } catch (error) {
    if ((await repo.isTaken(email, username)).email) return false
    throw error
  }
  log.info({ email }, 'first superuser created')
  return true
}

/** A username derived from the email's local part, made unique with a numeric suffix if needed. */
async function freeUsername(repo: UserRepository, email: string): Promise<string> {
  const base =
    (email.split('@')[0] ?? 'admin')
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, '')
      .slice(0, 40) || 'admin'
  const stem = base.length >= 3 ? base : `${base}-admin`
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? stem : `${stem}-${n}`
    if (!(await repo.isTaken('', candidate)).username) return candidate
  }
}
