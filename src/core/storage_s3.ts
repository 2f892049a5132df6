import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { Client } from 'minio'
import type { Logger } from 'pino'
import { AppException, DependencyException, ResourceNotFoundException } from '../exceptions.ts'
import { withTimeout } from '../utils/helpers.ts'
import { OCTET_STREAM } from '../utils/sniff.ts'
import type { ObjectStat, ObjectStorage, PresignOptions, PutOptions, StoredObject } from './storage.ts'
import {
  assertExpiry,
  assertMetadata,
  assertObjectKey,
  attachmentDisposition,
  type SpooledUpload,
  spoolUpload,
} from './storage_common.ts'

/** Options of {@link createS3Storage}. */
export interface S3StorageOptions {
  /** `http(s)://host:port` of the S3 API. */
  endpoint: string
  accessKey: string
  secretKey: string
  bucket: string
  region: string
  /** Where uploads are spooled before they are sent (the OS temp folder in production). */
  tmpDir: string
  log: Logger
  /** Bound of one request-response call (stat, delete, bucket checks); default 5 s. */
  operationTimeoutMs?: number
  /** Bound of establishing a TCP connection; default 3 s. */
  connectTimeoutMs?: number
  /** A connection silent this long is cut, so a stalled transfer fails instead of hanging; default 30 s. */
  idleTimeoutMs?: number
}

const MISSING_CODES = new Set(['NotFound', 'NoSuchKey'])
const BUCKET_TAKEN_CODES = new Set(['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'])

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function timeoutError(what: string, ms: number): Error {
  return Object.assign(new Error(`storage ${what} timed out after ${ms} ms`), { code: 'ETIMEDOUT' })
}

/**
 * An HTTP(S) transport for the minio client whose requests give up on a connection that cannot be
 * made within `connectMs` or falls silent for `idleMs`: without it a black-holed endpoint would hold a
 * request (and its socket) for minutes.
 */
function boundedTransport(secure: boolean, connectMs: number, idleMs: number): Pick<typeof http, 'request'> {
  const base = secure ? https : http
  const request = (options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void) => {
    const req = base.request({ ...options, timeout: idleMs }, callback)
    req.on('timeout', () => req.destroy(timeoutError('connection idle', idleMs)))
    req.on('socket', (socket) => {
      if (!socket.connecting) return
      const timer = setTimeout(() => req.destroy(timeoutError('connect', connectMs)), connectMs)
      socket.once('connect', () => clearTimeout(timer))
      socket.once('close', () => clearTimeout(timer))
    })
    return req
  }
  return { request: request as typeof http.request }
}

/**
 * The S3 adapter, through the official `minio` client. Retries are off (a dependency that is down
 * must answer 503 now, not after back-off) and every call is bounded in time.
 *
 * An upload is spooled to a temp file while its size is checked, then sent as one signed PUT streamed
 * from that file: memory holds a chunk, never the file, and S3 never sees a partial object. (The
 * client's own `putObject` would buffer bodies up to its part size, 64 MiB, in memory.) One PUT
 * stores up to 5 GiB, far above the upload limits this API uses.
 *
 * @param options where the S3 API is and how long to wait for it
 */
export function createS3Storage(options: S3StorageOptions): ObjectStorage {
  const { bucket, region, tmpDir, log } = options
  const operationMs = options.operationTimeoutMs ?? 5_000
  const url = new URL(options.endpoint)
  const secure = url.protocol === 'https:'
  const agent = new (secure ? https : http).Agent({ keepAlive: true, maxSockets: 64 })
  const client = new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    useSSL: secure,
    accessKey: options.accessKey,
    secretKey: options.secretKey,
    region,
    pathStyle: true,
    transport: boundedTransport(secure, options.connectTimeoutMs ?? 3_000, options.idleTimeoutMs ?? 30_000),
    transportAgent: agent,
    retryOptions: { disableRetry: true },
  })

  /**
   * Runs one call within `ms` (unbounded when null); every failure that is not ours means "storage
   * down".
   */
  async function call<T>(what: string, run: () => Promise<T>, ms: number | null = operationMs): Promise<T> {
    try {
      return await (ms === null ? run() : withTimeout(run(), ms, `storage ${what}`))
    } catch (error) {
      if (error instanceof AppException || error instanceof TypeError) throw error
      throw new DependencyException('storage', error)
    }
  }

  /** One signed PUT streamed from the spooled file, its length and checksums known in advance. */
  async function send(key: string, path: string, spooled: SpooledUpload, put: PutOptions): Promise<void> {
    const headers: Record<string, string | number> = {
      'Content-Length': spooled.size,
      'Content-Type': put.contentType,
      'Content-MD5': spooled.md5,
    }
    for (const [name, value] of Object.entries(put.metadata ?? {})) {
      // Header values must be Latin-1 without control characters; URI-encoding makes any text fit.
      headers[`x-amz-meta-${name}`] = encodeURIComponent(value)
    }
    // Over plain HTTP the payload hash is signed; over TLS S3 accepts it unsigned.
    const sha256 = client.enableSHA256 ? spooled.sha256 : ''
    const response = await client.makeRequestStreamAsync(
      { method: 'PUT', bucketName: bucket, objectName: key, headers },
      createReadStream(path),
      sha256,
      [200],
      region,
    )
    response.resume()
  }

  return {
    mode: 'external',

    async ensureBucket() {
      const exists = await call('bucket check', () => client.bucketExists(bucket))
      if (exists) return
      await call('bucket creation', async () => {
        try {
          await client.makeBucket(bucket, region)
          log.info({ bucket }, 'storage bucket created')
        } catch (error) {
          // Another instance starting at the same moment may have won the race: that is fine.
          if (!BUCKET_TAKEN_CODES.has(codeOf(error) ?? '')) throw error
        }
      })
    },

    async put(key: string, body: Readable, put: PutOptions): Promise<StoredObject> {
      assertObjectKey(key)
      assertMetadata(put.metadata)
      const path = join(tmpDir, `folio-upload-${randomUUID()}`)
      try {
        const spooled = await spoolUpload(body, path, put.maxBytes)
        // No overall bound here: a large file may take long; the transport cuts a stalled one.
        await call('upload', () => send(key, path, spooled, put), null)
        return { key, size: spooled.size, contentType: put.contentType }
      } finally {
        await rm(path, { force: true })
      }
    },

    async get(key: string): Promise<Readable> {
      assertObjectKey(key)
      return call('download', async () => {
        try {
          return await client.getObject(bucket, key)
        } catch (error) {
          if (MISSING_CODES.has(codeOf(error) ?? '')) throw new ResourceNotFoundException('Object not found')
          throw error
        }
      })
    },

    async stat(key: string): Promise<ObjectStat | null> {
      assertObjectKey(key)
      return call('stat', async () => {
        try {
          const stat = await client.statObject(bucket, key)
          const contentType = stat.metaData['content-type']
          return {
            size: stat.size,
            contentType: typeof contentType === 'string' ? contentType : OCTET_STREAM,
            etag: stat.etag,
            lastModified: stat.lastModified,
          }
        } catch (error) {
          if (MISSING_CODES.has(codeOf(error) ?? '')) return null
          throw error
        }
      })
    },

    async delete(key: string) {
      assertObjectKey(key)
      // S3 answers 204 whether or not the object existed.
      await call('delete', () => client.removeObject(bucket, key))
    },

    async presignedGetUrl(key: string, expirySeconds: number, presign: PresignOptions = {}) {
      assertObjectKey(key)
      assertExpiry(expirySeconds)
      const params: Record<string, string> = {
        'response-content-disposition': attachmentDisposition(presign.filename),
      }
      if (presign.contentType) params['response-content-type'] = presign.contentType
      // Signing is local (the region is configured), so this makes no request.
      return call('presign', () => client.presignedGetObject(bucket, key, expirySeconds, params))
    },

    async ping(timeoutMs: number) {
      const exists = await call('ping', () => client.bucketExists(bucket), timeoutMs)
      if (!exists) throw new DependencyException('storage', new Error(`bucket "${bucket}" does not exist`))
    },

    async close() {
      agent.destroy()
    },
  }
}
