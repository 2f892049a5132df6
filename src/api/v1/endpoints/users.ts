import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppException, ValidationException } from '../../../exceptions.ts'
import { Envelope, NullEnvelope, Page, responses } from '../../../schemas/base.ts'
import {
  AdminUpdateBody,
  type AdminUpdateInput,
  PasswordChangeBody,
  type PasswordChangeInput,
  UpdateMeBody,
  type UpdateMeInput,
  UserIdParams,
  UserPublic,
  UsersQuery,
  type UsersQueryInput,
} from '../../../schemas/user.ts'
import { IMAGE_MAX_BYTES } from '../../../services/user_service.ts'
import { ok } from '../../../utils/helpers.ts'
import { ANY_AUTH, BEARER_ONLY, callerOf, sessionOf } from '../../deps.ts'
import type { V1Context } from '../router.ts'

const tags = ['users']
const UploadBody = {
  type: 'object',
  properties: {
    file: { type: 'string', format: 'binary', description: 'png, jpeg, webp or gif; at most 5 MiB' },
  },
  required: ['file'],
}

/**
 * The single `file` part of a multipart upload, as a stream.
 * @param request the upload request
 * @param maxBytes the size limit, enforced while streaming (413)
 * @throws {AppException} 415 when the body is not multipart
 * @throws {ValidationException} 422 when there is no file part
 */
export async function uploadedFile(request: FastifyRequest, maxBytes: number) {
  if (!request.isMultipart()) throw new AppException('Unsupported Media Type: send multipart/form-data', 415)
  // One byte over the limit passes the parser, so the storage's own streaming check sees the excess,
  // answers 413 and removes what it wrote (a truncated stream at exactly the limit would look valid).
  const part = await request.file({ limits: { fileSize: maxBytes + 1, files: 1 } })
  if (part?.fieldname !== 'file') {
    throw new ValidationException('Validation error', [
      { loc: ['body', 'file'], msg: 'a file part named "file" is required', type: 'missing' },
    ])
  }
  return part
}

/**
 * Registers the user routes of API.md.
 * @param app the Fastify instance scoped to `/api/v1`
 * @param context the services
 */
export async function userRoutes(app: FastifyInstance, { users }: V1Context): Promise<void> {
  const one = Envelope(UserPublic)

  app.get(
    '/users/me',
    {
      schema: { tags, summary: 'The caller', security: ANY_AUTH, response: responses({ 200: one }, [401]) },
      preHandler: app.requireUser,
    },
    async (request) => ok(await users.toPublic(callerOf(request))),
  )

  app.patch<{ Body: UpdateMeInput }>(
    '/users/me',
    {
      schema: {
        tags,
        summary: "Update the caller's name or username",
        security: ANY_AUTH,
        body: UpdateMeBody,
        response: responses({ 200: one }, [401, 409, 415, 422]),
      },
      preHandler: app.requireUser,
    },
    async (request) => ok(await users.toPublic(await users.updateMe(callerOf(request), request.body))),
  )

  app.put<{ Body: PasswordChangeInput }>(
    '/users/me/password',
    {
      schema: {
        tags,
        summary: 'Change the password; every other session ends',
        security: BEARER_ONLY,
        body: PasswordChangeBody,
        response: responses({ 200: NullEnvelope }, [400, 401, 403, 415, 422]),
      },
      preHandler: app.requireBearer,
    },
    async (request) => {
      await users.changePassword(callerOf(request), sessionOf(request), request.body)
      return ok(null)
    },
  )

  app.put(
    '/users/me/avatar',
    {
      schema: {
        tags,
        summary: 'Upload an avatar (multipart `file`: png, jpeg, webp or gif, at most 5 MiB)',
        security: ANY_AUTH,
        consumes: ['multipart/form-data'],
        body: UploadBody,
        response: responses({ 200: one }, [401, 413, 415, 422]),
      },
      config: { multipart: true },
      preHandler: app.requireUser,
      // The multipart body is read as a stream by the handler, not validated as JSON.
      validatorCompiler: () => () => true,
    },
    async (request) => {
      const part = await uploadedFile(request, IMAGE_MAX_BYTES)
      return ok(await users.toPublic(await users.setAvatar(callerOf(request), part.file)))
    },
  )

  app.delete(
    '/users/me',
    {
      schema: {
        tags,
        summary: "Delete the caller's account (soft); every session ends",
        security: ANY_AUTH,
        response: responses({ 200: NullEnvelope }, [401]),
      },
      preHandler: app.requireUser,
    },
    async (request) => {
      await users.delete(callerOf(request).id)
      return ok(null)
    },
  )

  app.get<{ Querystring: UsersQueryInput }>(
    '/users',
    {
      schema: {
        tags,
        summary: 'Users, newest first (superuser)',
        security: ANY_AUTH,
        querystring: UsersQuery,
        response: responses({ 200: Envelope(Page(UserPublic)) }, [401, 403, 422]),
      },
      preHandler: app.requireSuperuser,
    },
    async (request) => {
      const page = await users.list(request.query)
      return ok({ items: await Promise.all(page.items.map((u) => users.toPublic(u))), meta: page.meta })
    },
  )

  app.get<{ Params: { user_id: string } }>(
    '/users/:user_id',
    {
      schema: {
        tags,
        summary: 'A user (superuser)',
        security: ANY_AUTH,
        params: UserIdParams,
        response: responses({ 200: one }, [401, 403, 404, 422]),
      },
      preHandler: app.requireSuperuser,
    },
    async (request) => ok(await users.toPublic(await users.get(request.params.user_id))),
  )

  app.patch<{ Params: { user_id: string }; Body: AdminUpdateInput }>(
    '/users/:user_id',
    {
      schema: {
        tags,
        summary: "Update a user (superuser); deactivation ends the user's sessions",
        security: ANY_AUTH,
        params: UserIdParams,
        body: AdminUpdateBody,
        response: responses({ 200: one }, [400, 401, 403, 404, 415, 422]),
      },
      preHandler: app.requireSuperuser,
    },
    async (request) =>
      ok(
        await users.toPublic(
          await users.adminUpdate(callerOf(request), request.params.user_id, request.body),
        ),
      ),
  )

  app.delete<{ Params: { user_id: string } }>(
    '/users/:user_id',
    {
      schema: {
        tags,
        summary: 'Delete a user (superuser, soft)',
        security: ANY_AUTH,
        params: UserIdParams,
        response: responses({ 200: NullEnvelope }, [400, 401, 403, 404, 422]),
      },
      preHandler: app.requireSuperuser,
    },
    async (request) => {
      await users.adminDelete(callerOf(request), request.params.user_id)
      return ok(null)
    },
  )
}
