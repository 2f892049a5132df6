import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { Readable } from 'node:stream'
import Fastify from 'fastify'
import pino from 'pino'
import type { ObjectStorage } from '../../src/core/storage.ts'
import { registerDiskDownloads } from '../../src/core/storage.ts'
import { createDiskStorage } from '../../src/core/storage_disk.ts'
import { createS3Storage } from '../../src/core/storage_s3.ts'
import { registerErrorHandling } from '../../src/middleware/error_handler.ts'
import type { TestS3 } from './s3.ts'

/** A logger that writes nothing. */
export const silentLog = pino({ level: 'silent' })

/** A storage under test, and ways to look at what it keeps behind its back. */
export interface StorageSubject {
  storage: ObjectStorage
  /** Whether the bucket (or the objects folder) exists. */
  bucketExists(): Promise<boolean>
  /** Everything stored: S3 keys, or every file under the objects folder except temp files. */
  listStored(): Promise<string[]>
  /** Files in the folder where uploads are spooled. */
  tempFiles(): string[]
  close(): Promise<void>
}

function walk(dir: string, root = dir): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? walk(path, root) : [relative(root, path)]
  })
}

/**
 * The S3 adapter on a fresh (not yet created) bucket, spooling into its own temp folder.
 * @param s3 the test S3
 */
export function s3Subject(s3: TestS3): StorageSubject {
  const bucket = s3.freshBucket()
  const tmpDir = mkdtempSync(join(tmpdir(), 'folio-spool-'))
  const { endpoint, accessKey, secretKey, region } = s3
  const storage = createS3Storage({ endpoint, accessKey, secretKey, region, bucket, tmpDir, log: silentLog })
  return {
    storage,
    bucketExists: () => s3.client.bucketExists(bucket),
    listStored: () => s3.listKeys(bucket),
    tempFiles: () => readdirSync(tmpDir),
    async close() {
      await storage.close()
      rmSync(tmpDir, { recursive: true, force: true })
    },
  }
}

/**
 * The disk adapter in a fresh folder (objects folder not yet created), its download route served by a
 * Fastify app on a random loopback port, so its signed links can be fetched for real.
 */
export async function diskSubject(): Promise<StorageSubject> {
  const dir = mkdtempSync(join(tmpdir(), 'folio-disk-'))
  const root = join(dir, 'objects')
  const app = Fastify()
  registerErrorHandling(app, false)
  // The link's origin must be known before the route is added, so the raw server listens first.
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve))
  const { port } = app.server.address() as AddressInfo
  const storage = createDiskStorage({
    root,
    publicBaseUrl: `http://127.0.0.1:${port}`,
    signingKey: randomBytes(32),
    log: silentLog,
  })
  registerDiskDownloads(app, storage)
  await app.ready()
  return {
    storage,
    bucketExists: async () => existsSync(root),
    listStored: async () => walk(root).filter((path) => !path.startsWith('.tmp')),
    tempFiles: () => walk(join(root, '.tmp')),
    async close() {
      await storage.close()
      await app.close()
      await new Promise((resolve) => app.server.close(resolve))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * A body that yields `bytes` in chunks, like a client upload.
 * @param bytes the content
 * @param chunkSize bytes per chunk
 */
export function bodyOf(bytes: Buffer, chunkSize = 16 * 1024): Readable {
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize))
  return Readable.from(chunks, { objectMode: false })
}

/**
 * A body that sends `sent` bytes, then fails as a client disconnecting would: with an error, or by
 * closing without one (a premature close).
 */
export function abortingBody(sent: number, how: 'error' | 'close'): Readable {
  let pushed = 0
  return new Readable({
    read() {
      if (pushed < sent) {
        const chunk = randomBytes(Math.min(8 * 1024, sent - pushed))
        pushed += chunk.length
        this.push(chunk)
        return
      }
      setImmediate(() => (how === 'error' ? this.destroy(new Error('client went away')) : this.destroy()))
    },
  })
}

/** Reads a stream to the end. */
export async function readAll(stream: Readable): Promise<Buffer> {
  return Buffer.concat((await stream.toArray()) as Buffer[])
}

/**
 * A short fingerprint of bytes: comparing these is instant and still fails on any difference, where
 * a deep comparison of large buffers is slow.
 */
export function fingerprint(bytes: Buffer): string {
  return `${bytes.length}:${createHash('sha256').update(bytes).digest('hex')}`
}
