import type { FastifyBaseLogger } from 'fastify'
import type { Settings } from '../core/config.ts'
import type { Infrastructure } from '../core/dependencies.ts'
import type { TokenSigner } from '../core/security.ts'
import { ActionTokenRepository } from '../repositories/action_token_repo.ts'
import { ApiKeyRepository } from '../repositories/api_key_repo.ts'
import { FileRepository } from '../repositories/file_repo.ts'
import { PostRepository } from '../repositories/post_repo.ts'
import { RefreshTokenRepository } from '../repositories/refresh_token_repo.ts'
import { UserRepository } from '../repositories/user_repo.ts'
import { ApiKeyService } from './api_key_service.ts'
import { AuthService } from './auth_service.ts'
import type { EventOutbox } from './events.ts'
import { FileService } from './file_service.ts'
import { IdempotencyService } from './idempotency_service.ts'
import { recordEvent } from './outbox.ts'
import { PostCache } from './post_cache.ts'
import { PostService } from './post_service.ts'
import { SessionService } from './session_service.ts'
import { UserService } from './user_service.ts'

/** Every service of the API, created once per app. */
export interface Services {
  sessions: SessionService
  auth: AuthService
  users: UserService
  apiKeys: ApiKeyService
  files: FileService
  posts: PostService
}

/** What the services are made from. */
export interface ServiceDeps {
  settings: Settings
  infra: Infrastructure
  signer: TokenSigner
  /** Has the outbox relay publish at once. */
  wakeRelay: () => void
  /** The root logger, for work outside a request. */
  log: FastifyBaseLogger
}

/**
 * Creates the repositories and services on the ports: the one place the object graph is wired.
 * @param deps settings, ports, the token signer and the relay's wake-up
 */
export function createServices({ settings, infra, signer, wakeRelay, log }: ServiceDeps): Services {
  const db = infra.database.db
  const users = new UserRepository(db)
  const refreshTokens = new RefreshTokenRepository(db)
  const apiKeyRepo = new ApiKeyRepository(db)
  const events: EventOutbox = { record: recordEvent, wake: wakeRelay }
  // One per app: `Idempotency-Key` state lives in the shared cache, so every creation route uses this.
  const idempotency = new IdempotencyService(infra.cache)
  const postCache = new PostCache({
    cache: infra.cache,
    log: log.child({ component: 'posts' }),
  })
  const sessions = new SessionService({
    cache: infra.cache,
    users,
    refreshTokens,
    accessTtlSeconds: settings.accessTokenTtlSeconds,
  })
  return {
    sessions,
    auth: new AuthService({
      db,
      users,
      refreshTokens,
      actionTokens: new ActionTokenRepository(db),
      sessions,
      cache: infra.cache,
      signer,
      events,
      settings,
    }),
    users: new UserService({
      db,
      users,
      apiKeys: apiKeyRepo,
      sessions,
      storage: infra.storage,
      events,
      postCache,
      bcryptRounds: settings.bcryptRounds,
    }),
    apiKeys: new ApiKeyService({ apiKeys: apiKeyRepo, sessions, cache: infra.cache }),
    files: new FileService({
      db,
      files: new FileRepository(db),
      storage: infra.storage,
      events,
      idempotency,
      maxBytes: settings.uploadMaxBytes,
    }),
    posts: new PostService({
      db,
      posts: new PostRepository(db),
      users,
      cache: postCache,
      storage: infra.storage,
      events,
      idempotency,
    }),
  }
}
