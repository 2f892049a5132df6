import { createHmac } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { Settings } from './config.ts'
import type { StoreMode } from './database.ts'
import { createDiskStorage } from './storage_disk.ts'
import { createS3Storage } from './storage_s3.ts'

export { PayloadTooLargeException, UploadInterruptedException } from './storage_common.ts'
export { registerDiskDownloads } from './storage_disk_downloads.ts'

/** Options of {@link ObjectStorage.put}. */
export interface PutOptions {
  /** The type served with the object (sniffed by the caller, never taken from a file name). */
  contentType: string
  /** The largest accepted size; one byte more and the upload is refused with 413. */
  maxBytes: number
  /** Small string pairs kept with the object; names `[a-z0-9-]`. Values are stored URI-encoded on S3. */
  metadata?: Record<string, string>
}

/** What {@link ObjectStorage.put} stored. */
export interface StoredObject {
  key: string
  size: number
  contentType: string
}

/** What {@link ObjectStorage.stat} knows of an object. */
export interface ObjectStat {
  size: number
  contentType: string
  etag?: string
  lastModified: Date
}

/** Options of {@link ObjectStorage.presignedGetUrl}. */
export interface PresignOptions {
  /** The file name offered by `Content-Disposition: attachment` (its last path segment only). */
  filename?: string
  /** The `Content-Type` to answer with instead of the stored one. */
  contentType?: string
}

/**
 * The object storage port: S3 (MinIO or any S3 API) or a folder on local disk, with one contract
 * (`tests/core/storage.test.ts`).
 *
 * Keys are `/`-separated segments of `[A-Za-z0-9._-]`, none starting with a dot; any other key is a
 * `TypeError`. When the storage cannot be reached, calls reject quickly with
 * `DependencyException('storage')` (503), never hang.
 */
export interface ObjectStorage {
  /** `external` for S3, `embedded` for the local disk (as `/health` reports it). */
  readonly mode: StoreMode
  /** Creates the bucket (or folder) when missing; harmless when it exists. Called at start. */
  ensureBucket(): Promise<void>
  /**
   * Stores `body` under `key`, counting bytes as they stream and never holding the whole body in
   * memory. On any failure (limit, client abort, storage down) nothing is left behind and `body` is
   * destroyed.
   *
   * @throws {PayloadTooLargeException} (413) as soon as the body passes `maxBytes`
   * @throws {UploadInterruptedException} (400) when the body errors or ends prematurely
   * @throws {DependencyException} (503) when the storage fails
   */
  put(key: string, body: Readable, options: PutOptions): Promise<StoredObject>
  /**
   * Opens an object for reading.
   * @throws {ResourceNotFoundException} when there is no such object
   */
  get(key: string): Promise<Readable>
  /** @returns the object's size and type, or null when there is no such object */
  stat(key: string): Promise<ObjectStat | null>
  /** Removes an object; removing a missing one is not an error. */
  delete(key: string): Promise<void>
  /**
   * An absolute URL that downloads the object without credentials until it expires, answered with
   * `Content-Disposition: attachment`. It does not check that the object exists.
   *
   * @param expirySeconds lifetime, 1 to 604800 seconds
   * @throws {RangeError} for another lifetime
   */
  presignedGetUrl(key: string, expirySeconds: number, options?: PresignOptions): Promise<string>
  /**
   * Resolves when the storage answers and its bucket exists within `timeoutMs`.
   * @throws {DependencyException} otherwise
   */
  ping(timeoutMs: number): Promise<void>
  /** Releases connections; the storage is unusable afterwards. */
  close(): Promise<void>
}

/**
 * The key signing embedded download links, derived from the JWT secret so that no second secret must
 * be configured, yet a link signature never doubles as anything JWT-related.
 *
 * @param jwtSecret the process JWT secret
 */
export function downloadSigningKey(jwtSecret: string): Buffer {
  return createHmac('sha256', jwtSecret).update('folio:storage:download-links:v1').digest()
}

/**
 * Creates the storage port from the settings: S3 through the `minio` client when `S3_ENDPOINT` is set,
 * else files under `<DATA_DIR>/objects`, downloaded through `registerDiskDownloads` at
 * `PUBLIC_BASE_URL`.
 *
 * @param settings the process settings
 * @param log the root logger
 * @returns the storage; call `ensureBucket()` at start and `close()` at shutdown
 */
export function createStorage(settings: Settings, log: Logger): ObjectStorage {
  const { endpoint, accessKey, secretKey, bucket, region } = settings.s3
  if (endpoint) {
    return createS3Storage({ endpoint, accessKey, secretKey, bucket, region, tmpDir: tmpdir(), log })
  }
  return createDiskStorage({
    root: join(settings.dataDir, 'objects'),
    publicBaseUrl: settings.publicBaseUrl,
    signingKey: downloadSigningKey(settings.jwtSecret),
    log,
  })
}
