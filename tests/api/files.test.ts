import { and, eq } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { files } from '../../src/models/file.ts'
import { outboxEvents } from '../../src/models/outbox_event.ts'
import { createTestApp, type TestApp } from '../support/app.ts'
import { type Account, bearer, createUser, loginAs, promote, type Session } from '../support/auth.ts'
import { type FormPart, multipartForm, objectsUnder } from '../support/files.ts'

const PNG = Buffer.concat([
  Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'),
  Buffer.alloc(64, 7),
])
const TEXT = Buffer.from('just some text, not an image\n')
const UNKNOWN_ID = '01890a5d-ac96-774b-bcce-b302099a8057'

interface Actor {
  account: Account
  session: Session
}

async function actor(t: TestApp): Promise<Actor> {
  const account = await createUser(t.app)
  return { account, session: await loginAs(t.app, account) }
}

function upload(t: TestApp, who: Actor | null, parts: FormPart[], headers: Record<string, string> = {}) {
  const form = multipartForm(parts)
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/files',
    headers: { ...(who ? bearer(who.session) : {}), ...form.headers, ...headers },
    payload: form.payload,
  })
}

function fileOf(content: Buffer, filename = 'notes.txt'): FormPart {
  return { name: 'file', filename, content }
}

/** Downloads a presigned URL: the embedded store is served by the app itself, S3 over HTTP. */
async function download(t: TestApp, url: string) {
  if (t.app.infra.storage.mode === 'embedded') {
    const res = await t.app.inject({ method: 'GET', url: url.replace(/^https?:\/\/[^/]+/, '') })
    return { status: res.statusCode, body: res.rawPayload, headers: res.headers as Record<string, string> }
  }
  const res = await fetch(url)
  const headers = Object.fromEntries(res.headers.entries())
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers }
}

function expectError(res: LightMyRequestResponse, status: number) {
  expect(res.statusCode).toBe(status)
  expect(res.json()).toMatchObject({ code: status, message: expect.any(String) })
}

describe('files', () => {
  let t: TestApp
  let alice: Actor
  let bob: Actor
  let admin: Actor

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_ENABLED: 'false' })
    alice = await actor(t)
    bob = await actor(t)
    admin = await actor(t)
    await promote(t.app, admin.account)
    admin.session = await loginAs(t.app, admin.account)
  })
  afterAll(() => t.close())

  describe('POST /api/v1/files', () => {
    it('stores the file under a generated key and returns 201 File with its purpose', async () => {
      const res = await upload(t, alice, [{ name: 'purpose', value: 'invoice' }, fileOf(TEXT, 'notes.txt')])
      expect(res.statusCode).toBe(201)
      const body = res.json()
      expect(body).toMatchObject({ code: 201, message: 'success' })
      expect(Object.keys(body.data).sort()).toEqual(
        ['content_type', 'created_at', 'filename', 'id', 'purpose', 'size', 'url'].sort(),
      )
      expect(body.data).toMatchObject({
        filename: 'notes.txt',
        content_type: 'application/octet-stream',
        size: TEXT.length,
        purpose: 'invoice',
      })
      expect(body.data.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      const [row] = await t.app.infra.database.db.select().from(files).where(eq(files.id, body.data.id))
      expect(row!.objectKey).toBe(`files/${alice.account.id}/${body.data.id}`)
      expect(await t.app.infra.storage.stat(row!.objectKey)).toMatchObject({ size: TEXT.length })
    })

    it('keeps a purpose sent after the file part, and null without one', async () => {
      const after = await upload(t, alice, [fileOf(TEXT), { name: 'purpose', value: 'after the file' }])
      expect(after.statusCode).toBe(201)
      expect(after.json().data.purpose).toBe('after the file')
      const none = await upload(t, alice, [fileOf(TEXT)])
      expect(none.json().data.purpose).toBeNull()
    })

    it('types the bytes, not the name: a .png of text is application/octet-stream', async () => {
      const fake = await upload(t, alice, [{ ...fileOf(TEXT, 'cat.png'), type: 'image/png' }])
      expect(fake.statusCode).toBe(201)
      expect(fake.json().data.content_type).toBe('application/octet-stream')
      const real = await upload(t, alice, [fileOf(PNG, 'picture.bin')])
      expect(real.json().data.content_type).toBe('image/png')
    })

    it('serves the download with the bytes, the sniffed type and Content-Disposition attachment', async () => {
      const res = await upload(t, alice, [fileOf(PNG, 'holiday photo.bin')])
      const got = await download(t, res.json().data.url)
      expect(got.status).toBe(200)
      expect(got.body.equals(PNG)).toBe(true)
      expect(got.headers['content-type']).toMatch(/^image\/png/)
      expect(got.headers['content-disposition']).toMatch(/^attachment; filename="holiday photo\.bin"/)
    })

    it('keeps the client file name as cleaned metadata only', async () => {
      const long = `${'n'.repeat(300)}.txt`
      const res = await upload(t, alice, [fileOf(TEXT, long)])
      expect(res.statusCode).toBe(201)
      expect(res.json().data.filename).toHaveLength(255)
      expect(res.json().data.filename.endsWith('n.txt')).toBe(true)
      const [row] = await t.app.infra.database.db.select().from(files).where(eq(files.id, res.json().data.id))
      expect(row!.objectKey).not.toContain('nnn')
    })

    it('answers 401 without credentials and stores nothing', async () => {
      const res = await upload(t, null, [fileOf(TEXT)])
      expectError(res, 401)
      expect(res.headers['www-authenticate']).toBe('Bearer')
    })

    it('answers 415 for a JSON body', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/files',
        headers: bearer(alice.session),
        payload: { file: 'x' },
      })
      expectError(res, 415)
    })

    it.each([
      ['no file part', [{ name: 'purpose', value: 'p' }], ['body', 'file']],
      ['an unknown field', [fileOf(TEXT), { name: 'owner_id', value: 'x' }], ['body', 'owner_id']],
      [
        'a purpose over 50 characters',
        [{ name: 'purpose', value: 'p'.repeat(51) }, fileOf(TEXT)],
        ['body', 'purpose'],
      ],
      [
        'a file part under another name',
        [{ name: 'attachment', filename: 'a.txt', content: TEXT }],
        ['body', 'attachment'],
      ],
    ] as [string, FormPart[], string[]][])(
      'answers 422 for %s and keeps nothing',
      async (_label, parts, loc) => {
        const who = await actor(t)
        const res = await upload(t, who, parts)
        expectError(res, 422)
        expect(res.json().detail[0].loc).toEqual(loc)
        expect(await objectsUnder(t, `files/${who.account.id}/`)).toEqual([])
      },
    )

    it('answers 422 in the envelope for an Idempotency-Key over 255 characters', async () => {
      const res = await upload(t, alice, [fileOf(TEXT)], { 'idempotency-key': 'k'.repeat(256) })
      expectError(res, 422)
      expect(res.json().detail[0].loc).toEqual(['header', 'idempotency-key'])
    })

    it('creates one file for ten concurrent uploads with one Idempotency-Key, with identical responses', async () => {
      const who = await actor(t)
      const key = `upload-${who.account.id}`
      const parts = [{ name: 'purpose', value: 'once' }, fileOf(TEXT, 'once.txt')]
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => upload(t, who, parts, { 'idempotency-key': key })),
      )
      expect(responses.map((r) => r.statusCode)).toEqual(Array(10).fill(201))
      expect(new Set(responses.map((r) => r.body)).size).toBe(1)
      const rows = await t.app.infra.database.db.select().from(files).where(eq(files.ownerId, who.account.id))
      expect(rows).toHaveLength(1)
      expect(await objectsUnder(t, `files/${who.account.id}/`)).toEqual([
        `files/${who.account.id}/${rows[0]!.id}`,
      ])

      const other = await upload(t, who, [fileOf(Buffer.from('other bytes'), 'once.txt')], {
        'idempotency-key': key,
      })
      expectError(other, 422)
      expect(await objectsUnder(t, `files/${who.account.id}/`)).toHaveLength(1)
    })
  })

  describe('POST /api/v1/files with a small UPLOAD_MAX_BYTES', () => {
    let small: TestApp
    beforeAll(async () => {
      small = await createTestApp({ RATE_LIMIT_ENABLED: 'false', UPLOAD_MAX_BYTES: '1024' })
    })
    afterAll(() => small.close())

    it('accepts exactly the limit and answers 413 one byte over, leaving no object', async () => {
      const who = await actor(small)
      const fits = await upload(small, who, [fileOf(Buffer.alloc(1024, 1))])
      expect(fits.statusCode).toBe(201)
      const over = await upload(small, who, [
        fileOf(Buffer.alloc(1025, 1)),
        { name: 'purpose', value: 'big' },
      ])
      expectError(over, 413)
      const stored = await objectsUnder(small, `files/${who.account.id}/`)
      expect(stored).toEqual([`files/${who.account.id}/${fits.json().data.id}`])
      const rows = await small.app.infra.database.db
        .select()
        .from(files)
        .where(eq(files.ownerId, who.account.id))
      expect(rows).toHaveLength(1)
    })
  })

  describe('GET /api/v1/files', () => {
    it("lists only the caller's files, newest first, paginated", async () => {
      const who = await actor(t)
      const ids: string[] = []
      for (const name of ['a.txt', 'b.txt', 'c.txt'])
        ids.push((await upload(t, who, [fileOf(TEXT, name)])).json().data.id)
      await upload(t, bob, [fileOf(TEXT, 'bob.txt')])
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/v1/files?size=2',
        headers: bearer(who.session),
      })
      expect(res.statusCode).toBe(200)
      expect(res.json().data.items.map((f: { id: string }) => f.id)).toEqual([ids[2], ids[1]])
      expect(res.json().data.meta).toEqual({
        total: 3,
        page: 1,
        size: 2,
        pages: 2,
        has_next: true,
        has_prev: false,
      })
      expect(res.json().data.items[0].url).toMatch(/^https?:\/\//)
      const past = await t.app.inject({
        method: 'GET',
        url: '/api/v1/files?page=5&size=2',
        headers: bearer(who.session),
      })
      expect(past.json().data).toMatchObject({
        items: [],
        meta: { total: 3, page: 5, has_next: false, has_prev: true },
      })
    })

    it('answers 401 without credentials and 422 for a bad size', async () => {
      expectError(await t.app.inject({ method: 'GET', url: '/api/v1/files' }), 401)
      const bad = await t.app.inject({
        method: 'GET',
        url: '/api/v1/files?size=101',
        headers: bearer(alice.session),
      })
      expectError(bad, 422)
    })
  })

  describe('GET /api/v1/files/:file_id', () => {
    let fileId: string
    beforeAll(async () => {
      fileId = (await upload(t, alice, [{ name: 'purpose', value: 'kept' }, fileOf(TEXT, 'mine.txt')])).json()
        .data.id
    })

    it('returns the file to its owner with a working url, and to a superuser', async () => {
      for (const who of [alice, admin]) {
        const res = await t.app.inject({
          method: 'GET',
          url: `/api/v1/files/${fileId}`,
          headers: bearer(who.session),
        })
        expect(res.statusCode).toBe(200)
        expect(res.json().data).toMatchObject({
          id: fileId,
          filename: 'mine.txt',
          purpose: 'kept',
          size: TEXT.length,
        })
        const got = await download(t, res.json().data.url)
        expect(got.status).toBe(200)
        expect(got.body.equals(TEXT)).toBe(true)
        expect(got.headers['content-type']).toMatch(/^application\/octet-stream/)
      }
    })

    it("answers 404 for another user's file and an unknown id, 422 for a bad id, 401 anonymous", async () => {
      const get = (id: string, who: Actor | null) =>
        t.app.inject({ method: 'GET', url: `/api/v1/files/${id}`, headers: who ? bearer(who.session) : {} })
      expectError(await get(fileId, bob), 404)
      expectError(await get(UNKNOWN_ID, alice), 404)
      expectError(await get('not-a-uuid', alice), 422)
      expectError(await get(fileId, null), 401)
    })
  })

  describe('DELETE /api/v1/files/:file_id', () => {
    const remove = (id: string, who: Actor | null) =>
      t.app.inject({ method: 'DELETE', url: `/api/v1/files/${id}`, headers: who ? bearer(who.session) : {} })

    it('soft-deletes, records file.deleted, and the worker removes the object', async () => {
      const id = (await upload(t, alice, [fileOf(TEXT)])).json().data.id as string
      const key = `files/${alice.account.id}/${id}`
      expectError(await remove(id, bob), 404)
      expect(await t.app.infra.storage.stat(key)).not.toBeNull()

      const res = await remove(id, alice)
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ code: 200, message: 'success', data: null })
      const get = await t.app.inject({
        method: 'GET',
        url: `/api/v1/files/${id}`,
        headers: bearer(alice.session),
      })
      expectError(get, 404)
      expectError(await remove(id, alice), 404)
      const events = await t.app.infra.database.db
        .select()
        .from(outboxEvents)
        .where(and(eq(outboxEvents.type, 'file.deleted')))
      expect(events.filter((e) => e.payload.file_id === id).map((e) => e.payload)).toEqual([
        { file_id: id, owner_id: alice.account.id },
      ])

      const deadline = Date.now() + 5_000
      while ((await t.app.infra.storage.stat(key)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(await t.app.infra.storage.stat(key)).toBeNull()
    })

    it("lets a superuser delete another user's file", async () => {
      const id = (await upload(t, bob, [fileOf(TEXT)])).json().data.id as string
      expect((await remove(id, admin)).statusCode).toBe(200)
      expectError(
        await t.app.inject({ method: 'GET', url: `/api/v1/files/${id}`, headers: bearer(bob.session) }),
        404,
      )
    })

    it('answers 404 for an unknown id, 422 for a bad id, 401 anonymous', async () => {
      expectError(await remove(UNKNOWN_ID, alice), 404)
      expectError(await remove('nope', alice), 422)
      expectError(await remove(UNKNOWN_ID, null), 401)
    })
  })
})
