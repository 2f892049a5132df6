import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { type Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AppException, DependencyException } from '../exceptions.ts'

/** An upload grew past its size limit (413); nothing of it was kept. */
export class PayloadTooLargeException extends AppException {
  /** @param maxBytes the limit that was exceeded */
  constructor(maxBytes: number) {
    super('Payload Too Large', 413, { max_bytes: maxBytes })
  }
}

/** The client stopped sending before the upload was complete (400); nothing of it was kept. */
export class UploadInterruptedException extends AppException {
  /** @param cause the error of the body stream, logged but never shown */
  constructor(cause?: unknown) {
    super('Upload interrupted before it was complete', 400)
    this.cause = cause
  }
}

/** One path segment: starts with a letter or digit, so `.`, `..` and hidden names are impossible. */
const KEY_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const MAX_KEY_LENGTH = 512

/**
 * Checks an object key: `/`-separated segments of `[A-Za-z0-9._-]`, none empty or starting with a dot.
 * The same rule on every adapter keeps keys portable and makes path traversal impossible on disk.
 *
 * @param key the object key
 * @throws {TypeError} when the key is not valid (a programming error: keys are generated)
 */
export function assertObjectKey(key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || !key.split('/').every((s) => KEY_SEGMENT.test(s))) {
    throw new TypeError(`invalid object key: ${JSON.stringify(key.slice(0, 80))}`)
  }
}

const METADATA_NAME = /^[a-z0-9-]{1,64}$/

/**
 * Checks metadata names: lower-case letters, digits and dashes, as S3 stores them (`x-amz-meta-<name>`).
 * @param metadata the pairs to store with an object
 * @throws {TypeError} for another name
 */
export function assertMetadata(metadata: Record<string, string> = {}): void {
  for (const name of Object.keys(metadata)) {
    if (!METADATA_NAME.test(name)) throw new TypeError(`invalid metadata name: ${JSON.stringify(name)}`)
  }
}

/**
 * Checks a presigned URL lifetime.
 * @param seconds the lifetime
 * @throws {RangeError} unless a whole number of seconds between 1 and 7 days (the S3 maximum)
 */
export function assertExpiry(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 604_800) {
    throw new RangeError(`presigned URL expiry must be 1..604800 seconds (got ${seconds})`)
  }
}

/** RFC 5987 encoding: `encodeURIComponent` plus the few characters it leaves that the RFC does not. */
function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/**
 * A `Content-Disposition: attachment` value. The file name is reduced to its last path segment, given
 * as an ASCII fallback (`filename`) and exactly in UTF-8 (`filename*`), so no header injection and no
 * directory part ever reach the client.
 *
 * @param filename the name to suggest, if any
 * @returns e.g. `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`
 */
export function attachmentDisposition(filename?: string): string {
  // Control characters (CR and LF among them) have no place in a file name or a header.
  const name =
    (filename ?? '')
      .replace(/\p{Cc}/gu, '')
      .split(/[/\\]/)
      .pop() ?? ''
  if (name === '') return 'attachment'
  const fallback = name.replace(/[^\x20-\x7e]|["%;\\]/g, '_')
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeRfc5987(name)}`
}

/** What {@link spoolUpload} measured while writing. */
export interface SpooledUpload {
  size: number
  /** SHA-256 of the bytes, hex (what S3 V4 signing wants as the payload hash). */
  sha256: string
  /** MD5 of the bytes, base64 (a `Content-MD5` header). */
  md5: string
}

/**
 * Streams `body` into a new file at `path`, counting bytes as they pass, and stops as soon as the count
 * passes `maxBytes`. Memory use is one chunk, whatever the size. On any failure the file is removed and
 * the body is destroyed, so nothing is left behind.
 *
 * @param body the bytes to store
 * @param path a file that must not exist yet
 * @param maxBytes the largest accepted size
 * @returns the size and checksums of what was written
 * @throws {PayloadTooLargeException} when the body is larger than `maxBytes`
 * @throws {UploadInterruptedException} when the body errors or ends prematurely (client abort)
 * @throws {DependencyException} when the file cannot be written (`storage`)
 */
export async function spoolUpload(body: Readable, path: string, maxBytes: number): Promise<SpooledUpload> {
  const sha256 = createHash('sha256')
  const md5 = createHash('md5')
  let size = 0
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length
      if (size > maxBytes) return done(new PayloadTooLargeException(maxBytes))
      sha256.update(chunk)
      md5.update(chunk)
      done(null, chunk)
    },
  })
  const file = createWriteStream(path, { flags: 'wx', mode: 0o600 })
  // pipeline() hands the first error to every stream, so who failed first tells client from disk.
  let culprit: 'body' | 'file' | undefined
  body.once('error', () => {
    culprit ??= 'body'
  })
  body.once('close', () => {
    if (!body.readableEnded) culprit ??= 'body'
  })
  file.once('error', () => {
    culprit ??= 'file'
  })
  try {
    await pipeline(body, meter, file)
  } catch (error) {
    // The file may still be opening: wait for its descriptor to close, or it could reappear after rm.
    if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()))
    await rm(path, { force: true })
    if (error instanceof AppException) throw error
    if (culprit === 'file') throw new DependencyException('storage', error)
    throw new UploadInterruptedException(error)
  }
  return { size, sha256: sha256.digest('hex'), md5: md5.digest('base64') }
}
