import type { PostStatus } from '../src/models/post.ts'

/** A demo account of `npm run db:seed`. */
export interface DemoUser {
  email: string
  username: string
  fullName: string
  isSuperuser: boolean
}

/** A demo post, before its author is known by id. */
export interface DemoPost {
  /** Index into the writers of {@link DEMO_USERS} (the superuser writes none). */
  writer: number
  title: string
  slug: string
  summary: string
  content: string
  status: PostStatus
  tags: string[]
  publishedAt: Date | null
  createdAt: Date
}

/** The superuser, then the writers; emails are the seed's marker of what already exists. */
export const DEMO_USERS: DemoUser[] = [
  { email: 'admin@folio.local', username: 'demo_admin', fullName: 'Folio Admin', isSuperuser: true },
  { email: 'ada@folio.local', username: 'demo_ada', fullName: 'Ada Lovelace', isSuperuser: false },
  { email: 'grace@folio.local', username: 'demo_grace', fullName: 'Grace Hopper', isSuperuser: false },
  { email: 'alan@folio.local', username: 'demo_alan', fullName: 'Alan Turing', isSuperuser: false },
  {
    email: 'margaret@folio.local',
    username: 'demo_margaret',
    fullName: 'Margaret Hamilton',
    isSuperuser: false,
  },
  { email: 'edsger@folio.local', username: 'demo_edsger', fullName: 'Edsger Dijkstra', isSuperuser: false },
]

/** How many posts the seed writes. */
export const DEMO_POST_COUNT = 300

const OPENERS = [
  'A practical guide to',
  'Notes on',
  'Why we chose',
  'Lessons learned from',
  'Getting started with',
  'Rethinking',
  'Five mistakes with',
  'A deep dive into',
  'Understanding',
  'Scaling',
]
const TOPICS: [string, string[]][] = [
  ['PostgreSQL indexes', ['postgresql', 'databases', 'performance']],
  ['Redis caching', ['redis', 'caching', 'performance']],
  ['message queues', ['rabbitmq', 'architecture']],
  ['object storage', ['s3', 'storage']],
  ['JWT authentication', ['security', 'auth']],
  ['rate limiting', ['security', 'redis']],
  ['TypeScript generics', ['typescript']],
  ['Fastify plugins', ['fastify', 'node']],
  ['observability', ['logging', 'metrics', 'operations']],
  ['zero-downtime deploys', ['operations', 'devops']],
  ['full-text search', ['postgresql', 'search']],
  ['API pagination', ['api-design']],
  ['idempotent APIs', ['api-design', 'reliability']],
  ['soft deletes', ['databases', 'api-design']],
  ['event-driven design', ['architecture', 'events']],
]
const SENTENCES = [
  'Most of the trouble starts long before the first incident.',
  'We measured before we changed anything, and the numbers surprised us.',
  'The simplest design that could work turned out to be the one we kept.',
  'Every shortcut here comes back as an on-call page eventually.',
  'The documentation is right, but it leaves out what happens under load.',
  'A small benchmark settled an argument that had gone on for weeks.',
  'Defaults matter more than options, because almost nobody changes them.',
  'What looked like a bug in the library was a misunderstanding on our side.',
  'The fix was three lines; finding where they belonged took two days.',
  'Tests against the real service caught what the mocks never could.',
]

/** A small deterministic generator (mulberry32), so every seed writes the same demo content. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function slugOf(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
}

function statusFor(roll: number): PostStatus {
  if (roll < 0.12) return 'draft'
  if (roll < 0.2) return 'archived'
  return 'published'
}

/**
 * The demo posts: titles from a few openers and topics, two to four paragraphs of HTML, one to
 * four tags, about 80 % published, 12 % drafts and 8 % archived, published over the last two years.
 * Slugs are made unique with the post's number (`<slug>-<n>`).
 *
 * @param writers how many writers share the posts
 * @param now the reference time the dates go back from
 */
export function demoPosts(writers: number, now: Date): DemoPost[] {
  const next = random(20_260_101)
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)] as T
  const dayMs = 24 * 3600 * 1000
  return Array.from({ length: DEMO_POST_COUNT }, (_, i) => {
    const [topic, topicTags] = pick(TOPICS)
    const title = `${pick(OPENERS)} ${topic}`
    const paragraphs = Array.from({ length: 2 + Math.floor(next() * 3) }, () =>
      Array.from({ length: 3 }, () => pick(SENTENCES)).join(' '),
    )
    const tags = [
      ...new Set([
        ...topicTags.slice(0, 1 + Math.floor(next() * topicTags.length)),
        pick(['notes', 'howto', 'story', 'opinion']),
      ]),
    ]
    const status = statusFor(next())
    const createdAt = new Date(now.getTime() - Math.floor(next() * 730 * dayMs))
    const publishedAt =
      status === 'draft' ? null : new Date(createdAt.getTime() + Math.floor(next() * 3 * dayMs))
    return {
      writer: i % writers,
      title,
      slug: `${slugOf(title)}-${i + 1}`,
      summary: paragraphs[0]!.split('. ')[0]!.replace(/\.?$/, '.'),
      content: paragraphs.map((p) => `<p>${p}</p>`).join('\n'),
      status,
      tags: tags.slice(0, 4),
      publishedAt: publishedAt && publishedAt > now ? now : publishedAt,
      createdAt,
    }
  })
}
