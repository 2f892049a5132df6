import type { FastifyInstance } from 'fastify'

/** Everything the v1 endpoints need, created once by `buildApp`. */
export type V1Context = Record<string, never>

/**
 * Mounts the v1 endpoints under the caller's prefix (`/api/v1`).
 * @param app the Fastify instance scoped to the prefix
 * @param _context the services the endpoints call
 */
export async function v1Router(_app: FastifyInstance, _context: V1Context): Promise<void> {}
