import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import {
  ApiKeyCreated,
  ApiKeyIdParams,
  ApiKeyPublic,
  CreateApiKeyBody,
  type CreateApiKeyInput,
} from '../../../schemas/api_key.ts'
import { Envelope, NullEnvelope, responses } from '../../../schemas/base.ts'
import { ok } from '../../../utils/helpers.ts'
import { BEARER_ONLY, callerOf } from '../../deps.ts'
import type { V1Context } from '../router.ts'

const tags = ['api-keys']

/**
 * Registers the API-key routes of API.md (Bearer only: a key cannot manage keys).
 * @param app the Fastify instance scoped to `/api/v1`
 * @param context the services
 */
export async function apiKeyRoutes(app: FastifyInstance, { apiKeys }: V1Context): Promise<void> {
  app.post<{ Body: CreateApiKeyInput }>(
    '/api-keys',
    {
      schema: {
        tags,
        summary: 'Create an API key; the secret `key` is shown only here',
        security: BEARER_ONLY,
        body: CreateApiKeyBody,
        response: responses({ 201: Envelope(ApiKeyCreated) }, [401, 403, 415, 422]),
      },
      preHandler: app.requireBearer,
    },
    async (request, reply) => {
      const { key, secret } = await apiKeys.create(callerOf(request), request.body)
      return reply.code(201).send(ok({ ...apiKeys.toPublic(key), key: secret }, 201))
    },
  )

  app.get(
    '/api-keys',
    {
      schema: {
        tags,
        summary: "The caller's API keys (no secrets)",
        security: BEARER_ONLY,
        response: responses({ 200: Envelope(Type.Array(ApiKeyPublic)) }, [401, 403]),
      },
      preHandler: app.requireBearer,
    },
    async (request) => ok((await apiKeys.list(callerOf(request))).map((k) => apiKeys.toPublic(k))),
  )

  app.delete<{ Params: { key_id: string } }>(
    '/api-keys/:key_id',
    {
      schema: {
        tags,
        summary: 'Revoke an API key at once',
        security: BEARER_ONLY,
        params: ApiKeyIdParams,
        response: responses({ 200: NullEnvelope }, [401, 403, 404, 422]),
      },
      preHandler: app.requireBearer,
    },
    async (request) => {
      await apiKeys.revoke(callerOf(request), request.params.key_id)
      return ok(null)
    },
  )
}
