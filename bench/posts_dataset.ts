import { randomBytes } from 'node:crypto'
import bcrypt from 'bcrypt'
import postgres from 'postgres'
import { BENCH_BCRYPT_ROUNDS } from './servers.ts'

/**
 * The data set of the post scenarios (issue 5): 10,000 authors and 100,000 posts written by SQL
 * (`INSERT ... SELECT generate_series`) into the bench database, once: a later run finds it and adds
 * nothing. Ids come from `gen_random_uuid()` (v4), not the service's UUID v7: only the bulk data
 * differ, the rows the scenarios create go through the service. 90% of the posts are published
 * (7% drafts, 3% archived), over the last two years, with 1-4 tags of 20 and 1-3 KB of HTML.
 */

export const DATASET_USERS = 10_000
export const DATASET_POSTS = 100_000
/**
 * How long the setup of a post scenario may take: seeding costs some 50 s on a busy two-CPU machine
 * (the generated full-text column and its GIN index dominate), more than the runner's default minute.
 */
export const DATASET_SETUP_TIMEOUT_S = 300
/** Held while seeding, so two bench runs on one database do not seed it twice. */
const SEED_LOCK = 'folio-bench-posts-dataset'
/** The author whose row marks a finished seed (the seed is one transaction). */
const LAST_AUTHOR_EMAIL = `posts-author-${DATASET_USERS}@example.com`
/** The users of `posts_create` (`bench-postcreate-...@example.com`), whose posts each setup removes. */
export const CREATE_USER_TAG = 'postcreate'

const FIRST_NAMES = (
  'Ada Alan Barbara Claude Donald Edsger Frances Grace Hedy Ivan John Katherine Leslie ' +
  'Margaret Niklaus Ole Radia Sophie Tim Yukihiro'
).split(' ')
const LAST_NAMES = (
  'Allen Backus Conway Dijkstra Engelbart Floyd Gray Hamilton Iverson Jones Kay Lamport ' +
  'Liskov McCarthy Naur Perlman Ritchie Stroustrup Thompson Wirth'
).split(' ')
const TAGS = (
  'news release howto postgres redis node typescript fastify testing security performance ' +
  'devops design api caching events storage career opinion review'
).split(' ')
const TITLE_WORDS = (
  'faster queries careful migrations notes on caching a practical guide lessons from ' +
  'production shipping small services why indexes matter again tracing latency budgets ' +
  'simple event pipelines reliable deploys without drama'
).split(' ')
const SENTENCES = [
  'Every request that reaches the service goes through the same straight path, from the route to the database and back.',
  'We measured the slow endpoint for a week before touching it, and the numbers told a different story than the logs.',
  'A cache is an optimisation: when it is down, reads miss, writes skip it, and nothing fails because of it.',
  'The index on the status and publication date turned a sequential scan into a handful of page reads.',
  'Most of the latency came from round trips we did not know we were making, one per author on every page.',
  'Pagination looks trivial until the total count becomes the most expensive query of the whole request.',
  'We kept the migration small, reviewed the generated SQL by hand, and ran it on a copy of production first.',
  'Soft deletes are easy to add and easy to forget: the condition has to live in exactly one place.',
  'Nobody reads the runbook during an outage, so the alerts have to say what to do in one line.',
  'The worker retries with back-off, then parks the message in a dead-letter queue for a human to look at.',
  'An idempotency key turns a retried request from a duplicate order into a harmless repeat of the first answer.',
  'We sign download links for ten minutes, which is long enough for a slow phone and short enough to leak little.',
  'Rate limits belong in the shared cache, or every instance hands out its own budget and the limit means nothing.',
  'The benchmark compares the service with a bare server answering the same bytes, so the ratio shows our overhead.',
  'Structured logs with a request id on every line made the incident review take an hour instead of a day.',
  'We publish events through an outbox table in the same transaction, so a broker outage loses nothing.',
  'Tests run against real PostgreSQL and Redis, because the bugs we care about live in the seams between them.',
  'Sanitising HTML on write means every reader gets the same safe markup, whatever client wrote it.',
  'The connection pool is sized to the database, not to the number of requests we hope to serve.',
  'We removed a layer of abstraction and the code became both shorter and easier to reason about.',
  'Timestamps are stored with time zones and returned in UTC with milliseconds, and nobody has to guess.',
  'A good error envelope tells the client what went wrong without telling an attacker how the system works.',
  'The first profile showed JSON serialisation at the top, which was a surprise to everyone in the room.',
  'Full-text search with a generated column kept the application code free of indexing logic.',
  'We prefer boring technology for the parts that must not break and experiment only at the edges.',
  'Every dependency has an embedded fallback for development, and the same contract tests run against both.',
  'Small pull requests get reviewed properly; large ones get approved with a sigh and a prayer.',
  'Caching a page of results for fifteen seconds removed most of the load the front page put on the database.',
  'A token that cannot be revoked at once is a liability the day an account is compromised.',
  'The release went out on a Tuesday morning, with the people who wrote it awake and watching the graphs.',
]

/** A SQL array literal of strings, for the generators below (constants only, never input). */
function textArray(values: string[]): string {
  return `ARRAY[${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', ')}]::text[]`
}

async function seedUsers(tx: postgres.TransactionSql, hashedPassword: string): Promise<void> {
  await tx.unsafe(
    `INSERT INTO users (email, username, hashed_password, full_name, is_active, is_superuser, is_verified,
                        created_at, updated_at)
     SELECT format('posts-author-%s@example.com', i), format('posts_author_%s', i), $1,
            (${textArray(FIRST_NAMES)})[1 + i % 20] || ' ' || (${textArray(LAST_NAMES)})[1 + (i / 20) % 20],
            true, false, true, t, t
     FROM generate_series(1, ${DATASET_USERS}) AS i,
          LATERAL (SELECT now() - interval '3 years' + i * interval '1 hour') AS c(t)`,
    [hashedPassword],
  )
}

/**
 * The posts: author `1 + i % 10000`; 3-8 paragraphs of three sentences (1-3 KB); the status by
 * `i % 100`; published within the last two years, created up to a day before.
 */
async function seedPosts(tx: postgres.TransactionSql): Promise<void> {
  const h = (expr: string, n: number) => `(1 + abs(hashint4(${expr})::bigint) % ${n})`
  await tx.unsafe(
    `WITH generated AS (
       SELECT i,
              CASE WHEN i % 100 < 90 THEN 'published' WHEN i % 100 < 97 THEN 'draft' ELSE 'archived' END AS status,
              now() - (abs(hashint4(i * 7)::bigint) % (730 * 86400)) * interval '1 second' AS published_at,
              (abs(hashint4(i * 11)::bigint) % 86400) * interval '1 second' AS drafted_for
       FROM generate_series(1, ${DATASET_POSTS}) AS i
     )
     INSERT INTO posts (author_id, title, slug, summary, content, status, tags, published_at, created_at,
                        updated_at)
     SELECT u.id, initcap(w[${h('i * 5', 30)}] || ' ' || w[${h('i * 5 + 1', 30)}]) || ' '
              || w[${h('i * 5 + 2', 30)}] || ' ' || w[${h('i * 5 + 3', 30)}] || ' ' || w[${h('i * 5 + 4', 30)}],
            format('seed-%s-%s-%s', w[${h('i * 5', 30)}], w[${h('i * 5 + 1', 30)}], i),
            s[${h('i * 3', 30)}],
            (SELECT string_agg('<p>' || s[${h('i * 13 + k', 30)}] || ' ' || s[${h('i * 17 + k', 30)}] || ' '
                               || s[${h('i * 19 + k', 30)}] || '</p>', E'\\n')
             FROM generate_series(1, 3 + i % 6) AS k),
            g.status,
            ARRAY(SELECT t[1 + (i + k * 7) % 20] FROM generate_series(1, 1 + i % 4) AS k),
            CASE WHEN g.status = 'draft' THEN NULL ELSE g.published_at END,
            g.published_at - g.drafted_for,
            CASE WHEN g.status = 'draft' THEN g.published_at - g.drafted_for ELSE g.published_at END
     FROM generated AS g
     JOIN users AS u ON u.email = format('posts-author-%s@example.com', 1 + g.i % ${DATASET_USERS}),
          (SELECT ${textArray(TITLE_WORDS)} AS w, ${textArray(SENTENCES)} AS s, ${textArray(TAGS)} AS t) AS words`,
  )
}

/**
 * Runs a bulk insert without the table's non-unique indexes, then builds them again from their own
 * definitions: one build is several times faster than 100,000 insertions into the GIN indexes.
 */
async function withoutSecondaryIndexes(
  tx: postgres.TransactionSql,
  table: string,
  fill: () => Promise<void>,
): Promise<void> {
  const indexes = await tx<{ name: string; definition: string }[]>`
    SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS definition
    FROM pg_index WHERE indrelid = ${table}::regclass AND NOT indisunique`
  for (const { name } of indexes) await tx.unsafe(`DROP INDEX ${name}`)
  await fill()
  await tx`SET LOCAL maintenance_work_mem = '256MB'`
  for (const { definition } of indexes) await tx.unsafe(definition)
}

/**
 * Brings the data set to its seeded state: seeds it when it is not there (some 50 s, once), else
 * removes the posts `posts_create` wrote in earlier runs, so every post scenario reads the same table.
 * Then vacuums and refreshes the planner's statistics when anything changed. Safe to call from every
 * post scenario's setup.
 *
 * @param databaseUrl the migrated bench database the service runs on
 */
export async function ensurePostsDataset(databaseUrl: string): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    const changed = await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext(${SEED_LOCK}))`
      const [found] = await tx`SELECT 1 FROM users WHERE email = ${LAST_AUTHOR_EMAIL}`
      if (found) {
        const written = await tx`
          DELETE FROM posts WHERE author_id IN (
            SELECT id FROM users WHERE email LIKE ${`bench-${CREATE_USER_TAG}-%@example.com`})`
        return written.count > 0
      }
      // One shared hash of a password nobody knows: the authors never log in.
      await seedUsers(tx, await bcrypt.hash(randomBytes(24).toString('base64url'), BENCH_BCRYPT_ROUNDS))
      await withoutSecondaryIndexes(tx, 'posts', () => seedPosts(tx))
      return true
    })
    if (changed) await sql`VACUUM (ANALYZE) users, posts`
  } finally {
    await sql.end()
  }
}

/**
 * Published post ids of the data set in a random order, for scenarios that spread their reads.
 *
 * @param databaseUrl the bench database
 * @param limit how many at most
 */
export async function publishedPostIds(databaseUrl: string, limit: number): Promise<string[]> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    const rows = await sql<{ id: string }[]>`
      SELECT id FROM posts
      WHERE status = 'published' AND deleted_at IS NULL AND slug LIKE 'seed-%'
      ORDER BY random() LIMIT ${limit}`
    return rows.map((r) => r.id)
  } finally {
    await sql.end()
  }
}
