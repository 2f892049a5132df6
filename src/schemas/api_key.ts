import { type Static, Type } from '@sinclair/typebox'
import { Nullable, Timestamp, Uuid } from './base.ts'

/** An API key without its secret. */
export const ApiKeyPublic = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    prefix: Type.String({ description: "the key's public start, to recognise it" }),
    created_at: Timestamp,
    expires_at: Nullable(Timestamp),
    last_used_at: Nullable(Timestamp),
  },
  { title: 'ApiKey' },
)
export type ApiKeyBody = Static<typeof ApiKeyPublic>

/** The create response: the only time the full secret is shown. */
export const ApiKeyCreated = Type.Composite([ApiKeyPublic, Type.Object({ key: Type.String() })], {
  title: 'ApiKeyCreated',
})

/** `POST /api-keys`. */
export const CreateApiKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
)
export type CreateApiKeyInput = Static<typeof CreateApiKeyBody>

/** A `{key_id}` path. */
export const ApiKeyIdParams = Type.Object({ key_id: Uuid })
