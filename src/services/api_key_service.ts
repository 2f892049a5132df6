import type { Cache } from '../core/cache.ts'
import { randomSecret, safeEqual, sha256Hex } from '../core/security.ts'
import { AuthenticationException, ResourceNotFoundException } from '../exceptions.ts'
import type { ApiKey } from '../models/api_key.ts'
import type { User } from '../models/user.ts'
import type { ApiKeyRepository } from '../repositories/api_key_repo.ts'
import type { ApiKeyBody, CreateApiKeyInput } from '../schemas/api_key.ts'
import type { SessionService } from './session_service.ts'

/** Keys look like `folio_<8 chars>_<43 chars>`: the first two parts are the stored, shown prefix. */
const KEY_PATTERN = /^(folio_[A-Za-z0-9_-]{8})_([A-Za-z0-9_-]{43})$/
/** `last_used_at` is written at most this often per key, so a busy key does not write on every request. */
const TOUCH_INTERVAL_MS = 60_000

/** Dependencies of {@link ApiKeyService}. */
export interface ApiKeyServiceDeps {
  apiKeys: ApiKeyRepository
  sessions: SessionService
  cache: Cache
}

/** What authentication needs of a key, as cached. */
interface CachedKey {
  id: string
  userId: string
  keyHash: string
  expiresAt: string | null
}

/** How long a key's lookup stays cached; revocation drops it at once. */
const KEY_CACHE_TTL_SECONDS = 60
/**
 * A lookup that read the row just before a revocation may write it back just after the revocation
 * dropped it; dropping it once more a moment later closes that window.
 */
const SECOND_DROP_MS = 1_000

/** API keys: creation (the secret shown once), listing, revocation, and authentication by key. */
export class ApiKeyService {
  readonly #d: ApiKeyServiceDeps
  /** When this instance last wrote `last_used_at` for each key. */
  readonly #lastTouched = new Map<string, number>()

  /** @param deps the repository, sessions and cache */
  constructor(deps: ApiKeyServiceDeps) {
    this.#d = deps
  }

  /** The public form of a key (no secret). */
  toPublic(key: ApiKey): ApiKeyBody {
    return {
      id: key.id,
      name: key.name,
      prefix: key.prefix,
      created_at: key.createdAt!.toISOString(),
      expires_at: key.expiresAt?.toISOString() ?? null,
      last_used_at: key.lastUsedAt?.toISOString() ?? null,
    }
  }

  /**
   * Creates a key; only its hash is stored.
   * @returns the stored key and the full secret, to be shown once
   */
  async create(user: User, input: CreateApiKeyInput): Promise<{ key: ApiKey; secret: string }> {
    const prefix = `folio_${randomSecret(6)}`
    const secret = `${prefix}_${randomSecret(32)}`
    const key = await this.#d.apiKeys.create({
      userId: user.id,
      name: input.name,
      prefix,
      keyHash: sha256Hex(secret),
      expiresAt: input.expires_in_days ? new Date(Date.now() + input.expires_in_days * 86_400_000) : null,
    })
    return { key, secret }
  }

  /** The caller's live keys, newest first. */
  list(user: User): Promise<ApiKey[]> {
    return this.#d.apiKeys.listForUser(user.id)
  }

  /**
   * Revokes a key at once.
   * @throws {ResourceNotFoundException} when absent, revoked, or someone else's
   */
  async revoke(user: User, keyId: string): Promise<void> {
    const key = await this.#d.apiKeys.getOwned(keyId, user.id)
    if (!key || !(await this.#d.apiKeys.softDelete(key.id)))
      throw new ResourceNotFoundException('API key not found')
    const cacheKey = `apikey:${key.prefix}`
    await this.#d.cache.del(cacheKey)
    setTimeout(() => void this.#d.cache.del(cacheKey).catch(() => {}), SECOND_DROP_MS).unref()
  }

  /**
   * The active owner of a presented key.
   * @throws {AuthenticationException} for a malformed, unknown, revoked or expired key, or an inactive owner
   */
  async authenticate(presented: string): Promise<{ user: User; keyId: string }> {
    const match = KEY_PATTERN.exec(presented)
    const key = match ? await this.#lookup(match[1]!) : null
    if (!key || !safeEqual(key.keyHash, sha256Hex(presented)))
      throw new AuthenticationException('Invalid API key')
    if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now())
      throw new AuthenticationException('API key expired')
    const user = await this.#d.sessions.getUser(key.userId)
    if (!user?.isActive) throw new AuthenticationException('Account is disabled')
    this.#touch(key.id)
    return { user, keyId: key.id }
  }

  /** The key behind a prefix, from the cache or the database (then cached). */
  async #lookup(prefix: string): Promise<CachedKey | null> {
    const cacheKey = `apikey:${prefix}`
    const cached = await this.#d.cache.getJson<CachedKey>(cacheKey)
    if (cached) return cached
    const row = await this.#d.apiKeys.getByPrefix(prefix)
    if (!row) return null
    const entry: CachedKey = {
      id: row.id,
      userId: row.userId,
      keyHash: row.keyHash,
      expiresAt: row.expiresAt?.toISOString() ?? null,
    }
    await this.#d.cache.setJson(cacheKey, entry, KEY_CACHE_TTL_SECONDS)
    return entry
  }

  /** Records the use in the background, at most once per interval per key and instance. */
  #touch(keyId: string): void {
    const now = Date.now()
    const last = this.#lastTouched.get(keyId)
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return
    if (this.#lastTouched.size > 10_000) this.#lastTouched.clear()
    this.#lastTouched.set(keyId, now)
    // A failed bookkeeping write must not fail the caller's request.
    void this.#d.apiKeys.touch(keyId, new Date(now)).catch(() => {})
  }
}
