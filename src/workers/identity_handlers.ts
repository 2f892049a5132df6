import type { Settings } from '../core/config.ts'
import type { Database } from '../core/database.ts'
import type { Mailer } from '../core/mailer.ts'
import { randomSecret, sha256Hex } from '../core/security.ts'
import type { ActionPurpose } from '../models/action_token.ts'
import type { User } from '../models/user.ts'
import { ActionTokenRepository } from '../repositories/action_token_repo.ts'
import { UserRepository } from '../repositories/user_repo.ts'
import type { EventMessage } from '../services/outbox.ts'
import type { HandlerRegistry } from './registry.ts'

/** How long a mailed link works. */
const VERIFY_TTL_MS = 24 * 3600 * 1000
const RESET_TTL_MS = 3600 * 1000

/** What the identity handlers use. */
export interface IdentityHandlerDeps {
  db: Database
  mailer: Mailer
  settings: Pick<Settings, 'publicBaseUrl'>
}

/**
 * Registers the mail handlers of the identity events: the verification link (on registration and on
 * request) and the password-reset link. Each mailed token is single-use and stored only as a hash;
 * a new one voids the unused ones before it.
 *
 * @param registry the registry to fill
 * @param deps the database, mailer and public base URL
 */
export function registerIdentityHandlers(registry: HandlerRegistry, deps: IdentityHandlerDeps): void {
  const users = new UserRepository(deps.db)
  const tokens = new ActionTokenRepository(deps.db)

  async function issue(user: User, purpose: ActionPurpose, ttlMs: number): Promise<string> {
    const token = randomSecret(32)
    await deps.db.transaction(async (tx) => {
      await tokens.voidUnused(user.id, purpose, tx)
      await tokens.create(
        { userId: user.id, purpose, tokenHash: sha256Hex(token), expiresAt: new Date(Date.now() + ttlMs) },
        tx,
      )
    })
    return token
  }

  async function userOf(event: EventMessage): Promise<User | null> {
    const id = event.data.user_id
    return typeof id === 'string' ? users.getById(id) : null
  }

  const verification = {
    name: 'mail.verification',
    async handle(event: EventMessage) {
      const user = await userOf(event)
      if (!user?.isActive || user.isVerified) return
      const token = await issue(user, 'verify_email', VERIFY_TTL_MS)
      const link = `${deps.settings.publicBaseUrl}/verify-email?token=${token}`
      await deps.mailer.send({
        to: user.email,
        subject: 'Verify your email for Folio',
        text: `Hello ${user.fullName ?? user.username},\n\nConfirm your email address by opening this link (valid for 24 hours):\n${link}\n\nIf you did not sign up, ignore this mail.`,
      })
    },
  }
  registry.register('user.registered', verification)
  registry.register('user.email_verification_requested', verification)

  registry.register('user.password_reset_requested', {
    name: 'mail.password-reset',
    async handle(event) {
      const user = await userOf(event)
      if (!user?.isActive) return
      const token = await issue(user, 'reset_password', RESET_TTL_MS)
      const link = `${deps.settings.publicBaseUrl}/reset-password?token=${token}`
      await deps.mailer.send({
        to: user.email,
        subject: 'Reset your Folio password',
        text: `Hello ${user.fullName ?? user.username},\n\nSet a new password with this link (valid for 1 hour):\n${link}\n\nIf you did not ask for this, ignore this mail: your password is unchanged.`,
      })
    },
  })
}
