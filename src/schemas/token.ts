import { type Static, Type } from '@sinclair/typebox'
import { Email, Password } from './user.ts'

/** `POST /auth/login`. */
export const LoginBody = Type.Object(
  { email: Email, password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
)
export type LoginInput = Static<typeof LoginBody>

/** An access and refresh token pair. */
export const TokenPair = Type.Object(
  {
    access_token: Type.String(),
    refresh_token: Type.String(),
    token_type: Type.Literal('bearer'),
    expires_in: Type.Integer({ description: 'seconds until the access token expires' }),
  },
  { title: 'TokenPair' },
)
export type TokenPairBody = Static<typeof TokenPair>

/** `POST /auth/refresh` and `/auth/logout`: the token in the body, or none (cookie). */
export const RefreshBody = Type.Object(
  { refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })) },
  { additionalProperties: false },
)
export type RefreshInput = Static<typeof RefreshBody>

/** `POST /auth/verify-email`. */
export const TokenBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
)

/** `POST /auth/password/forgot`. */
export const ForgotBody = Type.Object({ email: Email }, { additionalProperties: false })

/** `POST /auth/password/reset`. */
export const ResetBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 512 }), new_password: Password },
  { additionalProperties: false },
)
export type ResetInput = Static<typeof ResetBody>

/** `GET /auth/csrf`. */
export const CsrfBody = Type.Object({ csrf_token: Type.String() })
