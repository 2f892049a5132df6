import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ObjectStorage,
  PayloadTooLargeException,
  UploadInterruptedException,
} from '../../src/core/storage.ts'
import { createS3Storage } from '../../src/core/storage_s3.ts'
import { DependencyException, ResourceNotFoundException } from '../../src/exceptions.ts'
import { sniffStream } from '../../src/utils/sniff.ts'
import { closedPort, startTestS3, type TestS3 } from '../support/s3.ts'
import {
  abortingBody,
  bodyOf,
  diskSubject,
  fingerprint,
  readAll,
  type StorageSubject,
  s3Subject,
  silentLog,
} from '../support/storage.ts'

let s3: TestS3
beforeAll(async () => {
  s3 = await startTestS3()
})
afterAll(() => s3?.close())

const ADAPTERS: { name: string; make: () => Promise<StorageSubject> | StorageSubject }[] = [
  { name: 'S3 adapter', make: () => s3Subject(s3) },
  { name: 'disk adapter', make: () => diskSubject() },
]

let keys = 0
function newKey(): string {
  keys += 1
  return `files/${randomBytes(4).toString('hex')}/object-${keys}.bin`
}

describe.each(ADAPTERS)('ObjectStorage contract: $name', ({ make }) => {
  let subject: StorageSubject
  beforeAll(async () => {
    subject = await make()
    await subject.storage.ensureBucket()
  })
  afterAll(() => subject?.close())

  /** Asserts that nothing of `key` is stored and no spooled upload is left. */
  async function expectNothingLeft(key: string) {
    expect(await subject.storage.stat(key)).toBeNull()
    expect((await subject.listStored()).filter((path) => path.includes(key))).toEqual([])
    expect(subject.tempFiles()).toEqual([])
  }

  it('creates the bucket when missing, and ensureBucket is harmless when it exists', async () => {
    const fresh = await make()
    try {
      expect(await fresh.bucketExists()).toBe(false)
      await expect(fresh.storage.ping(1_000)).rejects.toBeInstanceOf(DependencyException)
      await fresh.storage.ensureBucket()
      expect(await fresh.bucketExists()).toBe(true)
      await fresh.storage.ensureBucket()
      await expect(fresh.storage.ping(1_000)).resolves.toBeUndefined()
    } finally {
      await fresh.close()
    }
  })

  it('round-trips bytes through put, stat, get and delete', async () => {
    const key = newKey()
    const bytes = randomBytes(300 * 1024 + 7)
    const stored = await subject.storage.put(key, bodyOf(bytes), {
      contentType: 'image/png',
      maxBytes: 1024 * 1024,
      metadata: { 'original-name': 'Ünïcode photo.png' },
    })
    expect(stored).toEqual({ key, size: bytes.length, contentType: 'image/png' })

    const stat = await subject.storage.stat(key)
    expect(stat).toMatchObject({ size: bytes.length, contentType: 'image/png' })
    expect(stat?.lastModified).toBeInstanceOf(Date)
    expect(Math.abs(Date.now() - (stat?.lastModified.getTime() ?? 0))).toBeLessThan(60_000)
    expect(fingerprint(await readAll(await subject.storage.get(key)))).toBe(fingerprint(bytes))

    // The key's folder is no object, on disk (a directory) as on S3 (a prefix).
    const folder = key.slice(0, key.lastIndexOf('/'))
    expect(await subject.storage.stat(folder)).toBeNull()
    await expect(subject.storage.get(folder)).rejects.toBeInstanceOf(ResourceNotFoundException)

    await subject.storage.delete(key)
    expect(await subject.storage.stat(key)).toBeNull()
    await expect(subject.storage.get(key)).rejects.toBeInstanceOf(ResourceNotFoundException)
    await expect(subject.storage.delete(key)).resolves.toBeUndefined()
    await expectNothingLeft(key)
  })

  it('stores a stream that was sniffed first, every byte of it', async () => {
    const key = newKey()
    const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(100_000)])
    const sniffed = await sniffStream(bodyOf(bytes, 4096))
    const stored = await subject.storage.put(key, sniffed.stream, {
      contentType: sniffed.contentType,
      maxBytes: bytes.length,
    })
    expect(stored).toEqual({ key, size: bytes.length, contentType: 'application/pdf' })
    expect(fingerprint(await readAll(await subject.storage.get(key)))).toBe(fingerprint(bytes))
  })

  it('accepts a body of exactly maxBytes, and an empty one', async () => {
    const key = newKey()
    const bytes = randomBytes(64 * 1024)
    await subject.storage.put(key, bodyOf(bytes), { contentType: 'application/pdf', maxBytes: bytes.length })
    expect(fingerprint(await readAll(await subject.storage.get(key)))).toBe(fingerprint(bytes))
    const empty = newKey()
    await subject.storage.put(empty, bodyOf(Buffer.alloc(0)), { contentType: 'text/plain', maxBytes: 10 })
    expect(await subject.storage.stat(empty)).toMatchObject({ size: 0 })
  })

  it('refuses a body over maxBytes with 413 while streaming, and keeps nothing of it', async () => {
    const key = newKey()
    const body = bodyOf(randomBytes(256 * 1024))
    const failure = await subject.storage
      .put(key, body, { contentType: 'image/png', maxBytes: 100 * 1024 })
      .catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(PayloadTooLargeException)
    expect(failure).toMatchObject({ statusCode: 413, message: 'Payload Too Large' })
    // Refused midway: the rest of the body was never read.
    expect(body.destroyed).toBe(true)
    await expectNothingLeft(key)
  })

  it.each(['error', 'close'] as const)(
    'keeps nothing when the client aborts mid-stream (%s)',
    async (how) => {
      const key = newKey()
      const failure = await subject.storage
        .put(key, abortingBody(40 * 1024, how), { contentType: 'image/png', maxBytes: 1024 * 1024 })
        .catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(UploadInterruptedException)
      expect(failure).toMatchObject({ statusCode: 400 })
      await expectNothingLeft(key)
    },
  )

  it('signs a download URL answering the bytes as an attachment, which stops working after expiry', async () => {
    const key = newKey()
    const bytes = randomBytes(20_000)
    await subject.storage.put(key, bodyOf(bytes), { contentType: 'image/png', maxBytes: 1024 * 1024 })
    // The link's type wins over the stored one, like S3's response-content-type.
    const url = await subject.storage.presignedGetUrl(key, 2, {
      filename: '../résumé "final".pdf',
      contentType: 'application/pdf',
    })
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//)

    const response = await fetch(url)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/pdf')
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="r_sum_ _final_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf`,
    )
    expect(fingerprint(Buffer.from(await response.arrayBuffer()))).toBe(fingerprint(bytes))

    // s3rver enforces X-Amz-Date + X-Amz-Expires on presigned URLs as S3 does, so both adapters expire.
    await sleep(3_200)
    const late = await fetch(url)
    expect(late.status).toBe(403)
    await late.body?.cancel()
  })

  it('signs a plain attachment with the stored type when no name or type is asked for', async () => {
    const key = newKey()
    await subject.storage.put(key, bodyOf(Buffer.from('hello')), { contentType: 'text/plain', maxBytes: 10 })
    const response = await fetch(await subject.storage.presignedGetUrl(key, 60))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-disposition')).toBe('attachment')
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await response.text()).toBe('hello')
  })

  it('answers 404 for a signed URL of a missing object', async () => {
    const response = await fetch(await subject.storage.presignedGetUrl(newKey(), 60))
    expect(response.status).toBe(404)
    await response.body?.cancel()
  })

  it.each([
    '../escape',
    '/absolute',
    'a//b',
    'a/../b',
    '.meta/x',
    'a/.tmp',
    '',
    'with space',
    'x'.repeat(513),
  ])('refuses the invalid key %j on every operation', async (key) => {
    const options = { contentType: 'text/plain', maxBytes: 10 }
    await expect(subject.storage.put(key, bodyOf(Buffer.from('x')), options)).rejects.toBeInstanceOf(
      TypeError,
    )
    await expect(subject.storage.get(key)).rejects.toBeInstanceOf(TypeError)
    await expect(subject.storage.stat(key)).rejects.toBeInstanceOf(TypeError)
    await expect(subject.storage.delete(key)).rejects.toBeInstanceOf(TypeError)
    await expect(subject.storage.presignedGetUrl(key, 60)).rejects.toBeInstanceOf(TypeError)
  })

  it('refuses bad metadata names and expiries', async () => {
    const key = newKey()
    const put = { contentType: 'text/plain', maxBytes: 10, metadata: { 'Bad Name': 'x' } }
    await expect(subject.storage.put(key, bodyOf(Buffer.from('x')), put)).rejects.toBeInstanceOf(TypeError)
    await expect(subject.storage.presignedGetUrl(key, 0)).rejects.toBeInstanceOf(RangeError)
    await expect(subject.storage.presignedGetUrl(key, 604_801)).rejects.toBeInstanceOf(RangeError)
    await expectNothingLeft(key)
  })
})

describe('S3 adapter with the storage unreachable', () => {
  let tmpDir: string
  let blackHole: Server
  const sockets = new Set<Socket>()
  beforeAll(async () => {
    tmpDir = mkdtempSync(join(tmpdir(), 'folio-spool-'))
    // Accepts connections and never answers: a hung server, the case a plain timeout-less client waits on.
    blackHole = createServer((socket) => {
      sockets.add(socket)
      socket.on('data', () => {})
    })
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve))
  })
  afterAll(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => blackHole.close(resolve))
    rmSync(tmpDir, { recursive: true, force: true })
  })

  function storageAt(port: number) {
    return createS3Storage({
      endpoint: `http://127.0.0.1:${port}`,
      accessKey: 'S3RVER',
      secretKey: 'S3RVER',
      bucket: 'folio-unreachable',
      region: 'us-east-1',
      tmpDir,
      log: silentLog,
      operationTimeoutMs: 500,
      connectTimeoutMs: 500,
      idleTimeoutMs: 700,
    })
  }

  /** Every call fails with DependencyException('storage') quickly and leaves no spooled file. */
  async function expectQuickFailures(storage: ObjectStorage) {
    const started = performance.now()
    const calls = [
      storage.ping(300),
      storage.ensureBucket(),
      storage.stat('a/b'),
      storage.get('a/b'),
      storage.delete('a/b'),
      storage.put('a/b', bodyOf(randomBytes(10_000)), { contentType: 'image/png', maxBytes: 20_000 }),
    ]
    for (const outcome of await Promise.allSettled(calls)) {
      expect(outcome.status).toBe('rejected')
      const reason = (outcome as PromiseRejectedResult).reason
      expect(reason).toBeInstanceOf(DependencyException)
      expect(reason).toMatchObject({ statusCode: 503, detail: { dependency: 'storage' } })
    }
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(readdirSync(tmpDir)).toEqual([])
    await storage.close()
  }

  it('rejects every call with DependencyException within 2 s when nothing listens', async () => {
    await expectQuickFailures(storageAt(await closedPort()))
  })

  it('rejects every call with DependencyException within 2 s when the server never answers', async () => {
    await expectQuickFailures(storageAt((blackHole.address() as AddressInfo).port))
  })

  it('answers a failing server with DependencyException at once, without retrying', async () => {
    let requests = 0
    const failing = createHttpServer((_request, response) => {
      requests += 1
      response.writeHead(503).end()
    })
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve))
    try {
      const storage = storageAt((failing.address() as AddressInfo).port)
      await expect(storage.stat('a/b')).rejects.toBeInstanceOf(DependencyException)
      expect(requests).toBe(1)
      await storage.close()
    } finally {
      failing.closeAllConnections()
      await new Promise((resolve) => failing.close(resolve))
    }
  })
})
