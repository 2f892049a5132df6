import type { FastifyInstance, FastifyRequest, FastifySchemaCompiler } from 'fastify'
import { AppException } from '../../../exceptions.ts'
import {
  Envelope,
  IdempotencyHeaders,
  type IdempotencyHeadersInput,
  NullEnvelope,
  Page,
  type Pagination,
  PaginationQuery,
  responses,
} from '../../../schemas/base.ts'
import { FileIdParams, FilePublic, UploadFileBody, type UploadPart } from '../../../schemas/file.ts'
import { ok } from '../../../utils/helpers.ts'
import { ANY_AUTH, callerOf } from '../../deps.ts'
import type { V1Context } from '../router.ts'

const tags = ['files']

const UPLOAD_DESCRIPTION = [
  'Multipart form: `file` (required, any type, at most `UPLOAD_MAX_BYTES`, 10 MiB by default: 413 above,',
  'and nothing is kept) and `purpose` (optional, at most 50 characters), in either order; any other',
  'part is 422. The bytes stream to object storage under a generated key; the client file name is kept',
  'as metadata only (control characters and directories removed, at most 255 characters). `content_type`',
  'is sniffed from the bytes (png, jpeg, gif, webp, pdf), anything else is `application/octet-stream`,',
  'whatever the name or the declared type.',
  '',
  '`Idempotency-Key` (optional, 1-255 characters): a repeat by the same user within 24 hours gets the',
  'first 201 response again (same body, so its `url` may have expired: GET the file for a fresh one) and',
  'stores nothing, also when repeats arrive concurrently. The request fingerprint is the SHA-256 of the',
  "file's bytes with its size, its (cleaned) file name and its purpose: the same key with any of them",
  'different is 422. The body of a repeat is read in full before it is compared.',
].join('\n')

/**
 * The parts of a multipart form, in the order they arrive, the file's size limit enforced while it
 * streams (one byte over passes the parser so the storage sees the excess and answers 413).
 *
 * @param request the upload request
 * @param maxBytes the file's size limit
 * @throws {AppException} 415 when the body is not multipart
 */
export async function* formParts(request: FastifyRequest, maxBytes: number): AsyncGenerator<UploadPart> {
  if (!request.isMultipart()) throw new AppException('Unsupported Media Type: send multipart/form-data', 415)
  for await (const part of request.parts({ limits: { fileSize: maxBytes + 1, files: 1 } })) {
    if (part.type === 'file') {
      yield { kind: 'file', name: part.fieldname, filename: part.filename, stream: part.file }
    } else {
      const value = typeof part.value === 'string' ? part.value : JSON.stringify(part.value)
      yield { kind: 'field', name: part.fieldname, value }
    }
  }
}

/**
 * Validates everything of a multipart route but its body, which the handler reads as a stream.
 * @param compile the app's schema compiler
 */
function exceptBody(compile: FastifySchemaCompiler<unknown> | undefined): FastifySchemaCompiler<unknown> {
  return (route) => (route.httpPart === 'body' || !compile ? () => true : compile(route))
}

/**
 * Registers the file routes of API.md: the caller's own files; another user's file is 404.
 * @param app the Fastify instance scoped to `/api/v1`
 * @param context the services and settings
 */
export async function fileRoutes(app: FastifyInstance, { files, settings }: V1Context): Promise<void> {
  const one = Envelope(FilePublic)

  app.post<{ Headers: IdempotencyHeadersInput }>(
    '/files',
    {
      schema: {
        tags,
        summary: 'Upload a file (multipart `file`, optional `purpose`)',
        description: UPLOAD_DESCRIPTION,
        security: ANY_AUTH,
        consumes: ['multipart/form-data'],
        headers: IdempotencyHeaders,
        body: UploadFileBody,
        response: responses({ 201: one }, [400, 401, 413, 415, 422]),
      },
      config: { multipart: true },
      preHandler: app.requireUser,
      validatorCompiler: exceptBody(app.validatorCompiler),
    },
    async (request, reply) => {
      const parts = formParts(request, settings.uploadMaxBytes)
      const file = await files.upload(callerOf(request), parts, request.headers['idempotency-key'])
      return reply.code(201).send(ok(file, 201))
    },
  )

  app.get<{ Querystring: Pagination }>(
    '/files',
    {
      schema: {
        tags,
        summary: "The caller's files, newest first",
        security: ANY_AUTH,
        querystring: PaginationQuery,
        response: responses({ 200: Envelope(Page(FilePublic)) }, [401, 422]),
      },
      preHandler: app.requireUser,
    },
    async (request) => {
      const page = await files.list(callerOf(request), request.query)
      return ok({ items: await Promise.all(page.items.map((f) => files.toPublic(f))), meta: page.meta })
    },
  )

  app.get<{ Params: { file_id: string } }>(
    '/files/:file_id',
    {
      schema: {
        tags,
        summary: 'A file with a fresh download URL (owner or superuser)',
        security: ANY_AUTH,
        params: FileIdParams,
        response: responses({ 200: one }, [401, 404, 422]),
      },
      preHandler: app.requireUser,
    },
    async (request) => ok(await files.toPublic(await files.get(callerOf(request), request.params.file_id))),
  )

  app.delete<{ Params: { file_id: string } }>(
    '/files/:file_id',
    {
      schema: {
        tags,
        summary: 'Delete a file (owner or superuser); the worker then removes its object',
        security: ANY_AUTH,
        params: FileIdParams,
        response: responses({ 200: NullEnvelope }, [401, 404, 422]),
      },
      preHandler: app.requireUser,
    },
    async (request) => {
      await files.delete(callerOf(request), request.params.file_id)
      return ok(null)
    },
  )
}
