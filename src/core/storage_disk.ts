import { randomUUID } from 'node:crypto'
import { constants } from 'node:fs'
import {
  access,
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
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
  spoolUpload,
} from './storage_common.ts'
import {
  type SignedDownload,
  type SignedDownloadQuery,
  type SignedDownloads,
  signedDownloadUrl,
  verifySignedDownload,
} from './storage_disk_downloads.ts'

/** Options of {@link createDiskStorage}. */
export interface DiskStorageOptions {
  /** The folder holding the objects (`<DATA_DIR>/objects`). */
  root: string
  /** The API's public origin: signed links point at its `/storage/objects/*` route. */
  publicBaseUrl: string
  /** HMAC-SHA256 key of the signed links. */
  signingKey: Buffer
  log: Logger
}

/** What is kept beside an object's bytes. */
interface Sidecar {
  contentType: string
  metadata?: Record<string, string>
}

/** Temp files older than this are leftovers of a crashed process, swept at start. */
const STALE_TEMP_MS = 60 * 60 * 1000
const MISSING = new Set(['ENOENT', 'ENOTDIR'])

function isMissing(error: unknown): boolean {
  return MISSING.has((error as { code?: string } | null)?.code ?? '')
}

/** Runs file-system work; a failure that is not ours means "storage down". */
async function guarded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof AppException) throw error
    throw new DependencyException('storage', error)
  }
}

/**
 * The embedded adapter: objects as files under `root`, each key segment a folder level; the content
 * type and metadata in a JSON sidecar under `root/.meta`; uploads in progress under `root/.tmp`, moved
 * into place by an atomic rename only once complete. Keys never contain a segment starting with a dot,
 * so they cannot reach `.meta`, `.tmp` or anything outside `root`.
 *
 * @param options the folder, and how to sign download links
 */
export function createDiskStorage(options: DiskStorageOptions): ObjectStorage & SignedDownloads {
  const { root, log, signingKey } = options
  const tmpDir = join(root, '.tmp')
  const metaDir = join(root, '.meta')
  const dataPath = (key: string) => join(root, ...key.split('/'))
  const metaPath = (key: string) => `${join(metaDir, ...key.split('/'))}.json`

  async function readSidecar(key: string): Promise<Sidecar> {
    try {
      return JSON.parse(await readFile(metaPath(key), 'utf8')) as Sidecar
    } catch (error) {
      // An object written before its sidecar (a crash in between) is still served, as unknown bytes.
      if (isMissing(error)) return { contentType: OCTET_STREAM }
      throw error
    }
  }

  /** Opens an object's file, or null when there is none. The caller closes the handle. */
  async function openObject(
    key: string,
  ): Promise<{ handle: FileHandle; size: number; sidecar: Sidecar } | null> {
    return guarded(async () => {
      let handle: FileHandle
      try {
        handle = await open(dataPath(key), 'r')
      } catch (error) {
        if (isMissing(error)) return null
        throw error
      }
      try {
        const [info, sidecar] = await Promise.all([handle.stat(), readSidecar(key)])
        // A key that is the folder of other keys (`files` beside `files/x`) is no object.
        if (!info.isFile()) {
          await handle.close()
          return null
        }
        return { handle, size: info.size, sidecar }
      } catch (error) {
        await handle.close()
        throw error
      }
    })
  }

  async function sweepStaleTemp(): Promise<void> {
    const cutoff = Date.now() - STALE_TEMP_MS
    for (const name of await readdir(tmpDir)) {
      const path = join(tmpDir, name)
      const info = await stat(path).catch(() => null)
      if (info && info.mtimeMs < cutoff) await rm(path, { force: true })
    }
  }

  return {
    mode: 'embedded',

    async ensureBucket() {
      await guarded(async () => {
        await mkdir(tmpDir, { recursive: true })
        await mkdir(metaDir, { recursive: true })
        await sweepStaleTemp()
      })
      log.info({ root }, 'storage folder ready')
    },

    async put(key: string, body: Readable, put: PutOptions): Promise<StoredObject> {
      assertObjectKey(key)
      assertMetadata(put.metadata)
      await guarded(() => mkdir(tmpDir, { recursive: true }))
      const id = randomUUID()
      const tmpData = join(tmpDir, id)
      const tmpMeta = join(tmpDir, `${id}.json`)
      const spooled = await spoolUpload(body, tmpData, put.maxBytes)
      let placed = false
      try {
        await guarded(async () => {
          const sidecar: Sidecar = { contentType: put.contentType, metadata: put.metadata ?? {} }
          await writeFile(tmpMeta, JSON.stringify(sidecar), { mode: 0o600 })
          await mkdir(dirname(dataPath(key)), { recursive: true })
          await mkdir(dirname(metaPath(key)), { recursive: true })
          await rename(tmpData, dataPath(key))
          placed = true
          await rename(tmpMeta, metaPath(key))
        })
      } catch (error) {
        await Promise.all([
          rm(tmpData, { force: true }),
          rm(tmpMeta, { force: true }),
          placed ? rm(dataPath(key), { force: true }) : undefined,
        ])
        throw error
      }
      return { key, size: spooled.size, contentType: put.contentType }
    },

    async get(key: string): Promise<Readable> {
      assertObjectKey(key)
      const opened = await openObject(key)
      if (!opened) throw new ResourceNotFoundException('Object not found')
      return opened.handle.createReadStream()
    },

    async stat(key: string): Promise<ObjectStat | null> {
      assertObjectKey(key)
      return guarded(async () => {
        try {
          const info = await stat(dataPath(key))
          if (!info.isFile()) return null
          const { contentType } = await readSidecar(key)
          return { size: info.size, contentType, lastModified: info.mtime }
        } catch (error) {
          if (isMissing(error)) return null
          throw error
        }
      })
    },

    async delete(key: string) {
      assertObjectKey(key)
      await guarded(async () => {
        await rm(dataPath(key), { force: true })
        await rm(metaPath(key), { force: true })
      })
    },

    async presignedGetUrl(key: string, expirySeconds: number, presign: PresignOptions = {}) {
      assertObjectKey(key)
      assertExpiry(expirySeconds)
      // Rounded up, so a link never lives shorter than asked.
      const expires = Math.ceil(Date.now() / 1000) + expirySeconds
      return signedDownloadUrl(options.publicBaseUrl, signingKey, key, expires, presign)
    },

    async openSignedDownload(key: string, query: SignedDownloadQuery): Promise<SignedDownload> {
      const grant = verifySignedDownload(signingKey, key, query)
      // Only a key we signed gets here, but a second check costs nothing.
      assertObjectKey(key)
      const opened = await openObject(key)
      if (!opened) throw new ResourceNotFoundException('Object not found')
      return {
        stream: opened.handle.createReadStream(),
        size: opened.size,
        contentType: grant.contentType ?? opened.sidecar.contentType,
        disposition: attachmentDisposition(grant.filename),
      }
    },

    async ping(timeoutMs: number) {
      await guarded(() =>
        withTimeout(access(root, constants.R_OK | constants.W_OK), timeoutMs, 'storage ping'),
      )
    },

    async close() {},
  }
}
