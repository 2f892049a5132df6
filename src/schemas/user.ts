import { type Static, Type } from '@sinclair/typebox'
import { Nullable, PaginationQuery, Timestamp, Uuid } from './base.ts'

/** An email per RFC 5322 (lower-cased by the service), at most 254 characters. */
export const Email = Type.String({ format: 'email', maxLength: 254, examples: ['alice@example.com'] })
/** 3-50 of `[a-z0-9_-]`; upper case is accepted and lower-cased. */
export const Username = Type.String({ pattern: '^[A-Za-z0-9_-]{3,50}$', examples: ['alice'] })
/** At least 8 characters and at most 72 bytes of UTF-8 (bcrypt's limit; the byte count is checked by the service). */
export const Password = Type.String({
  minLength: 8,
  maxLength: 72,
  description: '8 characters to 72 bytes of UTF-8',
})
/** A display name, at most 100 characters. */
export const FullName = Type.String({ maxLength: 100 })

/** A user as the API shows it: never the password hash nor the deletion mark. */
export const UserPublic = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    username: Type.String(),
    full_name: Nullable(Type.String()),
    avatar_url: Nullable(Type.String(), { description: 'time-limited download URL' }),
    is_active: Type.Boolean(),
    is_superuser: Type.Boolean(),
    is_verified: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'User' },
)
export type UserBody = Static<typeof UserPublic>

/** `POST /auth/register`. */
export const RegisterBody = Type.Object(
  { email: Email, username: Username, password: Password, full_name: Type.Optional(FullName) },
  { additionalProperties: false },
)
export type RegisterInput = Static<typeof RegisterBody>

/** `PATCH /users/me`: only these fields; anything else (`is_superuser`...) is 422. */
export const UpdateMeBody = Type.Object(
  { full_name: Type.Optional(Nullable(FullName)), username: Type.Optional(Username) },
  { additionalProperties: false },
)
export type UpdateMeInput = Static<typeof UpdateMeBody>

/** `PATCH /users/{user_id}` (superuser). */
export const AdminUpdateBody = Type.Object(
  {
    full_name: Type.Optional(Nullable(FullName)),
    is_active: Type.Optional(Type.Boolean()),
    is_superuser: Type.Optional(Type.Boolean()),
    is_verified: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type AdminUpdateInput = Static<typeof AdminUpdateBody>

/** `PUT /users/me/password`. */
export const PasswordChangeBody = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: 1024 }), new_password: Password },
  { additionalProperties: false },
)
export type PasswordChangeInput = Static<typeof PasswordChangeBody>

/** `GET /users` (superuser). */
export const UsersQuery = Type.Composite([
  PaginationQuery,
  Type.Object({
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: 'case-insensitive substring of email, username or full name',
      }),
    ),
    is_active: Type.Optional(Type.Boolean()),
  }),
])
export type UsersQueryInput = Static<typeof UsersQuery>

/** A `{user_id}` path. */
export const UserIdParams = Type.Object({ user_id: Uuid })
