import type { Readable } from 'node:stream'
import { v7 as uuidv7 } from 'uuid'
import type { Database } from '../core/database.ts'
import { hashPassword, verifyPassword } from '../core/security.ts'
import type { ObjectStorage } from '../core/storage.ts'
import { AppException, BusinessException, ResourceNotFoundException } from '../exceptions.ts'
import type { User } from '../models/user.ts'
import type { ApiKeyRepository } from '../repositories/api_key_repo.ts'
import type { UserRepository } from '../repositories/user_repo.ts'
import type { Pagination } from '../schemas/base.ts'
import type {
  AdminUpdateInput,
  PasswordChangeInput,
  UpdateMeInput,
  UserBody,
  UsersQueryInput,
} from '../schemas/user.ts'
import { type PageResult, toPage } from '../utils/helpers.ts'
import { sniffStream } from '../utils/sniff.ts'
import type { EventOutbox } from './events.ts'
import { assertPasswordBytes } from './passwords.ts'
import type { PostCache } from './post_cache.ts'
import type { SessionService } from './session_service.ts'

/** Largest avatar or cover image (API.md: 5 MiB). */
export const IMAGE_MAX_BYTES = 5 * 1024 * 1024
/** Image types accepted for avatars and covers, decided from the bytes. */
export const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif'])
/** Lifetime of the download URLs in responses. */
export const DOWNLOAD_URL_TTL_SECONDS = 3600

/** Dependencies of {@link UserService}. */
export interface UserServiceDeps {
  db: Database
  users: UserRepository
  apiKeys: ApiKeyRepository
  sessions: SessionService
  storage: ObjectStorage
  events: EventOutbox
  /** Posts show their author's name and avatar: cached posts are dropped when those change. */
  postCache: Pick<PostCache, 'forgetAuthor'>
  bcryptRounds: number
}

/**
 * Sniffs an uploaded image and stores it; anything but png, jpeg, webp or gif is 415, more than
 * 5 MiB is 413, and nothing is left in storage in either case.
 *
 * @param storage the object store
 * @param prefix the key's folder, e.g. `avatars/<user_id>`
 * @param file the upload's byte stream
 * @returns the new object's key
 */
export async function storeImage(storage: ObjectStorage, prefix: string, file: Readable): Promise<string> {
  const { contentType, stream } = await sniffStream(file)
  if (!contentType || !IMAGE_TYPES.has(contentType)) {
    stream.destroy()
    throw new AppException('Unsupported image type: send png, jpeg, webp or gif', 415)
  }
  const key = `${prefix}/${uuidv7()}`
  await storage.put(key, stream, { contentType, maxBytes: IMAGE_MAX_BYTES })
  return key
}

/** Users: the caller's own account and the superuser's administration. */
export class UserService {
  readonly #d: UserServiceDeps

  /** @param deps repositories, ports and the bcrypt cost */
  constructor(deps: UserServiceDeps) {
    this.#d = deps
  }

  /** The public form of a user, with a fresh avatar download URL. */
  async toPublic(user: User): Promise<UserBody> {
    return {
      id: user.id,
      email: user.email,
      username: user.username,
      full_name: user.fullName,
      avatar_url: user.avatarKey
        ? await this.#d.storage.presignedGetUrl(user.avatarKey, DOWNLOAD_URL_TTL_SECONDS, {
            filename: 'avatar',
          })
        : null,
      is_active: user.isActive ?? true,
      is_superuser: user.isSuperuser ?? false,
      is_verified: user.isVerified ?? false,
      created_at: user.createdAt!.toISOString(),
      updated_at: user.updatedAt!.toISOString(),
    }
  }

  /** Updates the caller's name or username. @throws {BusinessException} 409 for a taken username */
  async updateMe(user: User, input: UpdateMeInput): Promise<User> {
    const updated = await this.#d.users.updateUnique(user.id, {
      ...(input.full_name !== undefined ? { fullName: input.full_name } : {}),
      ...(input.username !== undefined ? { username: input.username.toLowerCase() } : {}),
    })
    await this.#d.sessions.forgetUser(user.id)
    await this.#d.postCache.forgetAuthor(user.id)
    return updated ?? this.#gone()
  }

  /**
   * Changes the caller's password and ends every other session.
   * @param sessionId the caller's session, which stays open
   * @throws {BusinessException} 400 when the current password is wrong
   */
  async changePassword(user: User, sessionId: string, input: PasswordChangeInput): Promise<void> {
    assertPasswordBytes(input.new_password, 'new_password')
    if (!(await verifyPassword(input.current_password, user.hashedPassword))) {
      throw new BusinessException('Current password is incorrect')
    }
    const hashedPassword = await hashPassword(input.new_password, this.#d.bcryptRounds)
    await this.#d.users.update(user.id, { hashedPassword })
    await this.#d.sessions.endAllSessions(user.id, sessionId)
  }

  /** Replaces the caller's avatar; the old object is removed once the new one is stored. */
  async setAvatar(user: User, file: Readable): Promise<User> {
    const key = await storeImage(this.#d.storage, `avatars/${user.id}`, file)
    const updated = await this.#d.users.update(user.id, { avatarKey: key })
    await this.#d.sessions.forgetUser(user.id)
    await this.#d.postCache.forgetAuthor(user.id)
    if (!updated) {
      await this.#d.storage.delete(key)
      return this.#gone()
    }
    if (user.avatarKey) await this.#d.storage.delete(user.avatarKey)
    return updated
  }

  /**
   * Soft-deletes a user, ends their sessions, revokes their API keys and records `user.deleted`.
   * @throws {ResourceNotFoundException} when the user does not exist
   */
  async delete(userId: string): Promise<void> {
    const deleted = await this.#d.db.transaction(async (tx) => {
      if (!(await this.#d.users.softDelete(userId, tx))) return false
      await this.#d.apiKeys.revokeAllForUser(userId, tx)
      await this.#d.events.record(tx, 'user.deleted', { user_id: userId })
      return true
    })
    if (!deleted) throw new ResourceNotFoundException('User not found')
    this.#d.events.wake()
    await this.#d.sessions.endAllSessions(userId)
    await this.#d.postCache.forgetAuthor(userId)
  }

  /** A page of users, newest first, for superusers. */
  async list(query: UsersQueryInput): Promise<PageResult<User>> {
    const pagination: Pagination = { page: query.page, size: query.size }
    const { items, total } = await this.#d.users.search(pagination, { q: query.q, isActive: query.is_active })
    return toPage(items, total, pagination)
  }

  /** @throws {ResourceNotFoundException} when absent or deleted */
  async get(userId: string): Promise<User> {
    return (await this.#d.users.getById(userId)) ?? this.#gone()
  }

  /**
   * A superuser's change to a user; deactivation ends the user's sessions.
   * @param actor the superuser
   * @throws {BusinessException} 400 when superusers would lock themselves out
   */
  async adminUpdate(actor: User, userId: string, input: AdminUpdateInput): Promise<User> {
    if (actor.id === userId && (input.is_active === false || input.is_superuser === false)) {
      throw new BusinessException('You cannot deactivate or demote yourself')
    }
    const updated = await this.#d.users.update(userId, {
      ...(input.full_name !== undefined ? { fullName: input.full_name } : {}),
      ...(input.is_active !== undefined ? { isActive: input.is_active } : {}),
      ...(input.is_superuser !== undefined ? { isSuperuser: input.is_superuser } : {}),
      ...(input.is_verified !== undefined ? { isVerified: input.is_verified } : {}),
    })
    if (!updated) return this.#gone()
    if (input.is_active === false) await this.#d.sessions.endAllSessions(userId)
    else await this.#d.sessions.forgetUser(userId)
    await this.#d.postCache.forgetAuthor(userId)
    return updated
  }

  /**
   * A superuser's deletion of a user.
   * @throws {BusinessException} 400 for the superuser's own account (use DELETE /users/me)
   */
  async adminDelete(actor: User, userId: string): Promise<void> {
    if (actor.id === userId) throw new BusinessException('Delete your own account with DELETE /users/me')
    await this.delete(userId)
  }

  #gone(): never {
    throw new ResourceNotFoundException('User not found')
  }
}
