import { createHash, type Hash } from 'node:crypto'
import { Readable } from 'node:stream'
import { v7 as uuidv7 } from 'uuid'
import type { Database } from '../core/database.ts'
import type { ObjectStorage } from '../core/storage.ts'
import { ResourceNotFoundException, ValidationException } from '../exceptions.ts'
import type { StoredFile } from '../models/file.ts'
import type { User } from '../models/user.ts'
import type { FileRepository } from '../repositories/file_repo.ts'
import type { Pagination } from '../schemas/base.ts'
import { type FileBody, PURPOSE_MAX_LENGTH, type UploadPart } from '../schemas/file.ts'
import { type PageResult, toPage } from '../utils/helpers.ts'
import { sniffStream } from '../utils/sniff.ts'
import type { EventOutbox } from './events.ts'
import type { IdempotencyService } from './idempotency_service.ts'
import { DOWNLOAD_URL_TTL_SECONDS } from './user_service.ts'

/** The route an upload's `Idempotency-Key` is scoped to. */
export const UPLOAD_ROUTE = 'POST /files'
/** Longest kept file name, in characters (the column is `varchar(255)`). */
const FILENAME_MAX_LENGTH = 255
/** The longest extension kept when a long name is shortened. */
const EXTENSION_MAX_LENGTH = 20
/** Bidirectional controls, which can disguise a name (`invoice‮fdp.exe`). */
const BIDI_CONTROLS = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** Dependencies of {@link FileService}. */
export interface FileServiceDeps {
  db: Database
  files: FileRepository
  storage: ObjectStorage
  events: EventOutbox
  idempotency: IdempotencyService
  /** The largest accepted upload (`UPLOAD_MAX_BYTES`). */
  maxBytes: number
}

/** An upload whose bytes are in storage but whose row does not exist yet. */
interface StagedUpload {
  id: string
  key: string
  filename: string
  purpose: string | null
  size: number
  contentType: string
  /** SHA-256 of the bytes, hex: part of the idempotency fingerprint. */
  sha256: string
}

/**
 * The client's file name made safe to keep and to offer back: NFC, no control or bidirectional
 * characters, no directory part, at most 255 characters with the extension kept. Never used in keys.
 *
 * @param raw the name the client sent, if any
 * @returns the name to store; `file` when nothing usable is left
 */
export function sanitizeFilename(raw: string | undefined): string {
  const base = (raw ?? '')
    .normalize('NFC')
    .replace(/\p{Cc}/gu, '')
    .replace(BIDI_CONTROLS, '')
  const name = (base.split(/[/\\]/).pop() ?? '').trim()
  const chars = Array.from(name)
  if (chars.length === 0) return 'file'
  if (chars.length <= FILENAME_MAX_LENGTH) return name
  const dot = name.lastIndexOf('.')
  const extension = dot > 0 ? Array.from(name.slice(dot)) : []
  const kept = extension.length <= EXTENSION_MAX_LENGTH ? extension : []
  return [...chars.slice(0, FILENAME_MAX_LENGTH - kept.length), ...kept].join('')
}

function invalid(field: string, msg: string, type: string): ValidationException {
  return new ValidationException('Validation error', [{ loc: ['body', field], msg, type }])
}

function checkPurpose(value: string): string | null {
  if (Array.from(value).length > PURPOSE_MAX_LENGTH) {
    throw invalid('purpose', `at most ${PURPOSE_MAX_LENGTH} characters`, 'maxLength')
  }
  return value === '' ? null : value
}

/** Yields a stream's chunks unchanged while feeding them to `hash`. */
async function* digesting(source: Readable, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk as Buffer)
    yield chunk as Buffer
  }
}

/** What two uploads must share to be the same request: the bytes, the name and the purpose. */
function fingerprintOf(staged: StagedUpload): string {
  const parts = [staged.sha256, String(staged.size), staged.filename, staged.purpose ?? '']
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex')
}

/** Files: uploads streamed to object storage, listed, downloaded by link and deleted by their owner. */
export class FileService {
  readonly #d: FileServiceDeps

  /** @param deps the repository, ports, outbox, idempotency and the size limit */
  constructor(deps: FileServiceDeps) {
    this.#d = deps
  }

  /** The public form of a file, with a fresh download URL that answers with its name and sniffed type. */
  async toPublic(file: StoredFile): Promise<FileBody> {
    return {
      id: file.id,
      filename: file.filename,
      content_type: file.contentType,
      size: file.size,
      purpose: file.purpose,
      url: await this.#d.storage.presignedGetUrl(file.objectKey, DOWNLOAD_URL_TTL_SECONDS, {
        filename: file.filename,
        contentType: file.contentType,
      }),
      created_at: file.createdAt!.toISOString(),
    }
  }

  /**
   * Stores an upload form (`file` and an optional `purpose`, in any order) under a generated key and
   * records it. With an idempotency key, a repeat gets the first upload's body and its bytes are
   * dropped; if anything fails, nothing is left in storage.
   *
   * @param owner the caller
   * @param parts the form's parts, in order
   * @param idempotencyKey the request's `Idempotency-Key`, if any
   * @returns the new file (or, for a repeat, the first response's body)
   * @throws {ValidationException} 422 for a missing file, an unknown field, a long purpose, or a key reused with another upload
   * @throws {PayloadTooLargeException} 413 above the size limit
   */
  async upload(owner: User, parts: AsyncIterable<UploadPart>, idempotencyKey?: string): Promise<FileBody> {
    const staged = await this.#stage(owner, parts)
    let committed = false
    const commit = async () => {
      const file = await this.#d.files.create({
        id: staged.id,
        ownerId: owner.id,
        filename: staged.filename,
        contentType: staged.contentType,
        size: staged.size,
        purpose: staged.purpose,
        objectKey: staged.key,
      })
      committed = true
      return this.toPublic(file)
    }
    try {
      if (!idempotencyKey) return await commit()
      const scope = { userId: owner.id, route: UPLOAD_ROUTE, key: idempotencyKey }
      const response = await this.#d.idempotency.run(scope, fingerprintOf(staged), async () => ({
        status: 201,
        body: await commit(),
      }))
      return response.body as FileBody
    } finally {
      // A repeat (or a failure) keeps no bytes; losing a cleanup only leaves an unreferenced object.
      if (!committed) await this.#d.storage.delete(staged.key).catch(() => undefined)
    }
  }

  /** A page of the caller's live files, newest first. */
  async list(caller: User, pagination: Pagination): Promise<PageResult<StoredFile>> {
    const { items, total } = await this.#d.files.listByOwner(caller.id, pagination)
    return toPage(items, total, pagination)
  }

  /**
   * A file its owner (or a superuser) may see.
   * @throws {ResourceNotFoundException} when absent, deleted, or another user's
   */
  async get(caller: User, fileId: string, tx: Database = this.#d.db): Promise<StoredFile> {
    const file = await this.#d.files.getById(fileId, tx)
    if (!file || (file.ownerId !== caller.id && !caller.isSuperuser)) {
      throw new ResourceNotFoundException('File not found')
    }
    return file
  }

  /**
   * Soft-deletes a file and records `file.deleted` in the same transaction; the worker then removes
   * its object from storage.
   * @throws {ResourceNotFoundException} when absent, already deleted, or another user's
   */
  async delete(caller: User, fileId: string): Promise<void> {
    await this.#d.db.transaction(async (tx) => {
      const file = await this.get(caller, fileId, tx)
      if (!(await this.#d.files.softDelete(file.id, tx)))
        throw new ResourceNotFoundException('File not found')
      await this.#d.events.record(tx, 'file.deleted', { file_id: file.id, owner_id: file.ownerId })
    })
    this.#d.events.wake()
  }

  /** Reads the form: the file is streamed to storage when its part comes, fields before or after it. */
  async #stage(owner: User, parts: AsyncIterable<UploadPart>): Promise<StagedUpload> {
    const id = uuidv7()
    const key = `files/${owner.id}/${id}`
    let stored: Omit<StagedUpload, 'id' | 'key' | 'purpose'> | undefined
    let purpose: string | null | undefined
    try {
      for await (const part of parts) {
        if (part.kind === 'file' && part.name === 'file' && !stored) {
          stored = await this.#store(key, part.stream, part.filename)
        } else if (part.kind === 'field' && part.name === 'purpose' && purpose === undefined) {
          purpose = checkPurpose(part.value)
        } else {
          if (part.kind === 'file') part.stream.destroy()
          throw invalid(part.name, 'unknown or repeated field', 'additional_properties')
        }
      }
    } catch (error) {
      if (stored) await this.#d.storage.delete(key).catch(() => undefined)
      throw error
    }
    if (!stored) throw invalid('file', 'a file part named "file" is required', 'missing')
    return { ...stored, id, key, purpose: purpose ?? null }
  }

  /** Streams one file to storage, typed by its bytes (unknown bytes are application/octet-stream). */
  async #store(key: string, file: Readable, filename: string | undefined) {
    const { contentType, stream } = await sniffStream(file)
    const hash = createHash('sha256')
    const body = Readable.from(digesting(stream, hash), { objectMode: false })
    const { size } = await this.#d.storage.put(key, body, { contentType, maxBytes: this.#d.maxBytes })
    return { filename: sanitizeFilename(filename), contentType, size, sha256: hash.digest('hex') }
  }
}
