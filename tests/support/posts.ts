import { and, eq, sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { outboxEvents } from '../../src/models/outbox_event.ts'
import { bearer, type Session } from './auth.ts'
import { unique } from './factories.ts'

/** A post as the API returns it (loosely typed for assertions). */
export type PostJson = Record<string, unknown> & { id: string; slug: string; title: string; status: string }

/** The smallest valid PNG header followed by filler: sniffed as image/png. */
export const PNG = Buffer.concat([
  Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'),
  Buffer.alloc(64, 7),
])

/**
 * Creates a post through the API and returns its `data`.
 * @param app the app
 * @param session the author's session
 * @param overrides body fields to set (a unique title and some content by default)
 */
export async function createPost(
  app: FastifyInstance,
  session: Session,
  overrides: Record<string, unknown> = {},
): Promise<PostJson> {
  const body = { title: `Post ${unique()}`, content: '<p>Some content</p>', ...overrides }
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/posts',
    headers: bearer(session),
    payload: body,
  })
  if (res.statusCode !== 201) throw new Error(`create post failed: ${res.statusCode} ${res.body}`)
  return res.json().data
}

/**
 * A multipart body with one file part.
 * @param field the part's name
 * @param content the file's bytes
 */
export function multipartBody(
  field: string,
  content: Buffer,
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----folio${unique()}`
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="f.bin"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

/**
 * The outbox rows of an event type about one post.
 * @param app the app whose database is read
 * @param type the event type
 * @param postId the post the event is about
 */
export async function postEvents(app: FastifyInstance, type: string, postId: string) {
  return app.infra.database.db
    .select()
    .from(outboxEvents)
    .where(and(eq(outboxEvents.type, type), sql`${outboxEvents.payload}->>'post_id' = ${postId}`))
}
