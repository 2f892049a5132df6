import type { FastifyInstance } from 'fastify'
import type { Settings } from '../../core/config.ts'
import type { TokenSigner } from '../../core/security.ts'
import type { ApiKeyService } from '../../services/api_key_service.ts'
import type { AuthService } from '../../services/auth_service.ts'
import type { FileService } from '../../services/file_service.ts'
import type { PostService } from '../../services/post_service.ts'
import type { UserService } from '../../services/user_service.ts'
import { apiKeyRoutes } from './endpoints/api_keys.ts'
import { authRoutes } from './endpoints/auth.ts'
import { fileRoutes } from './endpoints/files.ts'
import { postRoutes } from './endpoints/posts.ts'
import { userRoutes } from './endpoints/users.ts'

/** Everything the v1 endpoints need, created once by `buildApp`. */
export interface V1Context {
  settings: Settings
  signer: TokenSigner
  auth: AuthService
  users: UserService
  apiKeys: ApiKeyService
  files: FileService
  posts: PostService
}

/**
 * Mounts the v1 endpoints under the caller's prefix (`/api/v1`).
 * @param app the Fastify instance scoped to the prefix
 * @param context the services the endpoints call
 */
export async function v1Router(app: FastifyInstance, context: V1Context): Promise<void> {
  await authRoutes(app, context)
  await userRoutes(app, context)
  await apiKeyRoutes(app, context)
  await fileRoutes(app, context)
  await postRoutes(app, context)
}
