import { randomBytes } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import { bearerSubject, readBody, registerAndLogin } from '../identity.ts'
import { type PostJoinRow, postBody } from '../posts_bare.ts'
import { CREATE_USER_TAG, DATASET_SETUP_TIMEOUT_S, ensurePostsDataset } from '../posts_dataset.ts'
import { type Scenario, sendJson } from '../scenario.ts'

const PARAGRAPH =
  '<p>We measured the slow endpoint for a week before touching it, and the numbers told a different ' +
  'story than the logs. Most of the latency came from round trips we did not know we were making.</p>'
/** A draft of some 1.6 KB of HTML; each request gets a title of its own. */
const DRAFT = {
  title: 'Notes on a faster post list',
  summary: 'What a week of measurements taught us about our slowest endpoint.',
  content: Array.from({ length: 8 }, () => PARAGRAPH).join('\n'),
  tags: ['performance', 'postgres'],
}

interface DraftInput {
  title: string
  content: string
  summary?: string | null
  tags?: string[]
  status?: string
}

/** A `text[]` literal: postgres.js sends a JS array as text until its first query has fetched the types. */
function textArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`
}

function slugOf(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
}

/**
 * Creating a post (issue 5) with an access token: a draft with a unique title per request, so no
 * slug collides. The service checks the token and its session, loads the caller, counts its rate
 * limit, sanitises the HTML and inserts unless the slug is taken, in one prepared statement; the bare
 * server verifies the JWT with jose and inserts with postgres.js in one statement that also reads
 * the author.
 */
const postsCreate: Scenario = {
  name: 'posts_create',
  method: 'POST',
  path: '/api/v1/posts',
  target: 0.6,
  p99RatioMax: 2,
  setupTimeoutS: DATASET_SETUP_TIMEOUT_S,
  async setup(ctx) {
    await ensurePostsDataset(ctx.databaseUrl)
    const user = await registerAndLogin(ctx, CREATE_USER_TAG)
    return {
      headers: { authorization: `Bearer ${user.accessToken}` },
      body: DRAFT,
      // A run token per server: the bare server's slugs never meet the service's.
      sequence: () => {
        const run = randomBytes(4).toString('hex')
        let n = 0
        return () => ({ body: JSON.stringify({ ...DRAFT, title: `${DRAFT.title} ${run}-${n++}` }) })
      },
    }
  },
  bare: async (req, res, ctx) => {
    const subject = await bearerSubject(req.headers.authorization)
    if (subject === null) {
      const body = { code: 401, message: 'Not authenticated', detail: null }
      return sendJson(res, 401, body, { 'www-authenticate': 'Bearer' })
    }
    const input = JSON.parse(await readBody(req)) as DraftInput
    const status = input.status ?? 'draft'
    const sql = ctx.sql()
    const [row] = await sql<PostJoinRow[]>`
      WITH author AS (
        SELECT id, username, full_name FROM users
        WHERE id = ${subject} AND deleted_at IS NULL AND is_active IS NOT FALSE
      ), created AS (
        INSERT INTO posts (id, author_id, title, slug, summary, content, status, tags, published_at)
        SELECT ${uuidv7()}::uuid, id, ${input.title}::text, ${slugOf(input.title)}::text,
               ${input.summary ?? null}::text, ${input.content}::text, ${status}::text,
               ${textArray(input.tags ?? [])}::text[], ${status === 'published' ? new Date() : null}::timestamptz
        FROM author
        RETURNING id, title, slug, summary, content, status, tags, published_at, created_at, updated_at
      )
      SELECT created.*, author.id AS author_id, author.username, author.full_name FROM created, author`
    if (!row) return sendJson(res, 401, { code: 401, message: 'Not authenticated', detail: null })
    sendJson(res, 201, { code: 201, message: 'success', data: postBody(row) })
  },
}

export default postsCreate
