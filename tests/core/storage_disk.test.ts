import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStorage, downloadSigningKey, registerDiskDownloads } from '../../src/core/storage.ts'
import { createDiskStorage } from '../../src/core/storage_disk.ts'
import { signedDownloadUrl, verifySignedDownload } from '../../src/core/storage_disk_downloads.ts'
import { createS3Storage } from '../../src/core/storage_s3.ts'
import { PermissionException } from '../../src/exceptions.ts'
import { testSettings } from '../support/app.ts'
import { bodyOf, diskSubject, type StorageSubject, silentLog } from '../support/storage.ts'

describe('GET /storage/objects/* (signed links of the disk adapter)', () => {
  let subject: StorageSubject
  const key = 'files/abc/report.pdf'
  beforeAll(async () => {
    subject = await diskSubject()
    await subject.storage.ensureBucket()
    await subject.storage.put(key, bodyOf(Buffer.from('%PDF-1.7 body')), {
      contentType: 'application/pdf',
      maxBytes: 100,
    })
  })
  afterAll(() => subject?.close())

  async function expectEnvelope(url: string | URL, status: number) {
    const response = await fetch(url)
    expect(response.status).toBe(status)
    expect(response.headers.get('content-disposition')).toBeNull()
    expect(await response.json()).toMatchObject({ code: status, detail: null })
  }

  it('answers 403 in the error envelope when any signed part of the link was changed', async () => {
    const good = new URL(await subject.storage.presignedGetUrl(key, 60, { filename: 'a.pdf' }))
    expect((await fetch(good)).status).toBe(200)
    const tampered: [string, string | null][] = [
      ['signature', `${good.searchParams.get('signature')?.slice(0, -2)}AA`],
      ['signature', null],
      ['filename', 'evil.html'],
      ['type', 'text/html'],
      ['expires', String(Number(good.searchParams.get('expires')) + 3600)],
      ['expires', 'soon'],
    ]
    for (const [name, value] of tampered) {
      const url = new URL(good)
      if (value === null) url.searchParams.delete(name)
      else url.searchParams.set(name, value)
      await expectEnvelope(url, 403)
    }
    const otherKey = new URL(good)
    otherKey.pathname = '/storage/objects/files/abc/other.pdf'
    await expectEnvelope(otherKey, 403)
  })

  it('answers 404 in the error envelope for a valid link to a deleted object', async () => {
    await subject.storage.put('files/abc/gone.txt', bodyOf(Buffer.from('x')), {
      contentType: 'text/plain',
      maxBytes: 10,
    })
    const url = await subject.storage.presignedGetUrl('files/abc/gone.txt', 60)
    await subject.storage.delete('files/abc/gone.txt')
    await expectEnvelope(url, 404)
  })
})

describe('disk adapter', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'folio-disk-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const make = (root: string) =>
    createDiskStorage({ root, publicBaseUrl: 'http://x', signingKey: randomBytes(32), log: silentLog })

  it('sweeps temp files older than an hour at start, keeping recent ones', async () => {
    const root = join(dir, 'sweep')
    await make(root).ensureBucket()
    const stale = join(root, '.tmp', 'stale')
    writeFileSync(stale, 'x')
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000)
    utimesSync(stale, old, old)
    writeFileSync(join(root, '.tmp', 'recent'), 'x')
    await make(root).ensureBucket()
    expect(readdirSync(join(root, '.tmp'))).toEqual(['recent'])
  })
})

describe('signed download links', () => {
  const signingKey = randomBytes(32)

  it('verify what they sign, and refuse a link whose time is up', () => {
    const url = new URL(
      signedDownloadUrl('http://api.test/', signingKey, 'a/b', 2_000, {
        filename: 'x.png',
        contentType: 'image/png',
      }),
    )
    expect(url.origin + url.pathname).toBe('http://api.test/storage/objects/a/b')
    const query = Object.fromEntries(url.searchParams)
    expect(verifySignedDownload(signingKey, 'a/b', query, 2_000_000)).toEqual({
      filename: 'x.png',
      contentType: 'image/png',
    })
    expect(() => verifySignedDownload(signingKey, 'a/b', query, 2_000_001)).toThrow(PermissionException)
    expect(() => verifySignedDownload(randomBytes(32), 'a/b', query, 0)).toThrow(PermissionException)
    expect(() => verifySignedDownload(signingKey, 'a/b', { ...query, signature: ['x'] }, 0)).toThrow(
      PermissionException,
    )
  })

  it('are signed with a key derived from, not equal to, the JWT secret', () => {
    const secret = 'a-jwt-secret-that-is-long-enough-0123456789'
    expect(downloadSigningKey(secret).equals(downloadSigningKey(secret))).toBe(true)
    expect(downloadSigningKey(secret).equals(Buffer.from(secret))).toBe(false)
    expect(downloadSigningKey(secret).equals(downloadSigningKey(`${secret}!`))).toBe(false)
  })

  it('are served only for a storage that needs the API to serve them', async () => {
    const app = Fastify()
    const s3 = createS3Storage({
      endpoint: 'http://127.0.0.1:9',
      accessKey: 'k',
      secretKey: 's',
      bucket: 'folio',
      region: 'us-east-1',
      tmpDir: tmpdir(),
      log: silentLog,
    })
    registerDiskDownloads(app, s3)
    expect(app.hasRoute({ method: 'GET', url: '/storage/objects/*' })).toBe(false)
    registerDiskDownloads(
      app,
      createDiskStorage({ root: tmpdir(), publicBaseUrl: 'http://x', signingKey, log: silentLog }),
    )
    expect(app.hasRoute({ method: 'GET', url: '/storage/objects/*' })).toBe(true)
    await s3.close()
    await app.close()
  })
})

describe('createStorage', () => {
  it('uses S3 when S3_ENDPOINT is set', async () => {
    const settings = testSettings({ S3_ENDPOINT: 'http://127.0.0.1:9' })
    const storage = createStorage(settings, silentLog)
    expect(storage.mode).toBe('external')
    await storage.close()
    rmSync(settings.dataDir, { recursive: true, force: true })
  })

  it('uses <DATA_DIR>/objects otherwise, its links on PUBLIC_BASE_URL', async () => {
    const settings = testSettings({ S3_ENDPOINT: undefined, PUBLIC_BASE_URL: 'https://api.example.com' })
    const storage = createStorage(settings, silentLog)
    expect(storage.mode).toBe('embedded')
    await storage.ensureBucket()
    expect(readdirSync(join(settings.dataDir, 'objects')).sort()).toEqual(['.meta', '.tmp'])
    expect(await storage.presignedGetUrl('a/b', 60)).toMatch(
      /^https:\/\/api\.example\.com\/storage\/objects\/a\/b\?/,
    )
    await storage.close()
    rmSync(settings.dataDir, { recursive: true, force: true })
  })
})
