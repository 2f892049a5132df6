import type { FastifyInstance, FastifySchema, FastifySchemaCompiler } from 'fastify'
import { createValidatorCompiler } from '../../../core/validation.ts'
import {
  Envelope,
  IdempotencyHeaders,
  type IdempotencyHeadersInput,
  NullEnvelope,
  responses,
} from '../../../schemas/base.ts'
import {
  PostCreateBody,
  type PostCreateInput,
  PostIdParams,
  PostPage,
  PostPublic,
  PostSlugParams,
  PostsQuery,
  type PostsQueryInput,
  PostUpdateBody,
  type PostUpdateInput,
} from '../../../schemas/post.ts'
import { IMAGE_MAX_BYTES } from '../../../services/user_service.ts'
import { ok } from '../../../utils/helpers.ts'
import { ANY_AUTH, callerOf } from '../../deps.ts'
import type { V1Context } from '../router.ts'
import { uploadedFile } from './users.ts'

const tags = ['posts']
/** Routes open to anonymous callers that also take either credential. */
const OPTIONAL_AUTH: Record<string, string[]>[] = [{}, ...ANY_AUTH]
const CoverBody = {
  type: 'object',
  properties: {
    file: { type: 'string', format: 'binary', description: 'png, jpeg, webp or gif; at most 5 MiB' },
  },
  required: ['file'],
}

/**
 * Registers the post routes of API.md.
 * @param app the Fastify instance scoped to `/api/v1`
 * @param context the services
 */
export async function postRoutes(app: FastifyInstance, { posts }: V1Context): Promise<void> {
  const one = Envelope(PostPublic)
  const compile = createValidatorCompiler()
  // The multipart body is read as a stream by the handler; the path is validated as usual.
  const skipBody: FastifySchemaCompiler<FastifySchema> = (route) =>
    route.httpPart === 'body' ? () => true : compile(route)

  app.post<{ Body: PostCreateInput; Headers: IdempotencyHeadersInput }>(
    '/posts',
    {
      schema: {
        tags,
        summary: 'Create a post; the slug is made from the title. Honours `Idempotency-Key`',
        security: ANY_AUTH,
        headers: IdempotencyHeaders,
        body: PostCreateBody,
        response: responses({ 201: one }, [400, 401, 409, 413, 415, 422]),
      },
      preHandler: app.requireUser,
    },
    async (request, reply) => {
      const post = await posts.create(callerOf(request), request.body, request.headers['idempotency-key'])
      return reply.code(201).send(ok(post, 201))
    },
  )

  app.get<{ Querystring: PostsQueryInput }>(
    '/posts',
    {
      schema: {
        tags,
        summary: "Posts (without content): published ones, or the caller's drafts or archived ones",
        security: OPTIONAL_AUTH,
        querystring: PostsQuery,
        response: responses({ 200: Envelope(PostPage) }, [401, 422]),
      },
    },
    async (request) => ok(await posts.list(request.auth?.user ?? null, request.query)),
  )

  app.get<{ Params: { post_id: string } }>(
    '/posts/:post_id',
    {
      schema: {
        tags,
        summary: 'A post; drafts and archived posts only for their author and superusers',
        security: OPTIONAL_AUTH,
        params: PostIdParams,
        response: responses({ 200: one }, [401, 404, 422]),
      },
    },
    async (request) => ok(await posts.get(request.auth?.user ?? null, request.params.post_id)),
  )

  app.get<{ Params: { slug: string } }>(
    '/posts/slug/:slug',
    {
      schema: {
        tags,
        summary: 'A post by its slug; drafts and archived posts only for their author and superusers',
        security: OPTIONAL_AUTH,
        params: PostSlugParams,
        response: responses({ 200: one }, [401, 404, 422]),
      },
    },
    async (request) => ok(await posts.getBySlug(request.auth?.user ?? null, request.params.slug)),
  )

  app.patch<{ Params: { post_id: string }; Body: PostUpdateInput }>(
    '/posts/:post_id',
    {
      schema: {
        tags,
        summary: 'Update a post (author or superuser); publishing sets `published_at` once',
        security: ANY_AUTH,
        params: PostIdParams,
        body: PostUpdateBody,
        response: responses({ 200: one }, [400, 401, 403, 404, 413, 415, 422]),
      },
      preHandler: app.requireUser,
    },
    async (request) => ok(await posts.update(callerOf(request), request.params.post_id, request.body)),
  )

  app.delete<{ Params: { post_id: string } }>(
    '/posts/:post_id',
    {
      schema: {
        tags,
        summary: 'Delete a post (author or superuser, soft)',
        security: ANY_AUTH,
        params: PostIdParams,
        response: responses({ 200: NullEnvelope }, [401, 403, 404, 422]),
      },
      preHandler: app.requireUser,
    },
    async (request) => {
      await posts.delete(callerOf(request), request.params.post_id)
      return ok(null)
    },
  )

  app.put<{ Params: { post_id: string } }>(
    '/posts/:post_id/cover',
    {
      schema: {
        tags,
        summary: 'Upload a cover image (multipart `file`: png, jpeg, webp or gif, at most 5 MiB)',
        security: ANY_AUTH,
        consumes: ['multipart/form-data'],
        params: PostIdParams,
        body: CoverBody,
        response: responses({ 200: one }, [401, 403, 404, 413, 415, 422]),
      },
      config: { multipart: true },
      preHandler: app.requireUser,
      validatorCompiler: skipBody,
    },
    async (request) => {
      const part = await uploadedFile(request, IMAGE_MAX_BYTES)
      return ok(await posts.setCover(callerOf(request), request.params.post_id, part.file))
    },
  )
}
