import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { PermissionException } from '../exceptions.ts'
import type { ObjectStorage } from './storage.ts'

/** Where the API serves embedded objects; the key follows, one URL-encoded segment per key segment. */
export const DISK_DOWNLOAD_PREFIX = '/storage/objects/'

/** The query of a signed download link, as it arrives (every field may be missing or repeated). */
export type SignedDownloadQuery = Record<string, unknown>

/** What a signed link asks for, once its signature has been checked. */
export interface DownloadGrant {
  filename?: string
  contentType?: string
}

/** An object opened for a signed download. */
export interface SignedDownload {
  stream: Readable
  size: number
  contentType: string
  disposition: string
}

/** A storage whose objects the API itself serves through signed links (the disk adapter). */
export interface SignedDownloads {
  /**
   * Checks a link and opens its object.
   * @throws {PermissionException} (403) for a bad, tampered or expired link
   * @throws {ResourceNotFoundException} (404) when the object is gone
   */
  openSignedDownload(key: string, query: SignedDownloadQuery): Promise<SignedDownload>
}

/** What a link signs: every part that changes the answer, separated so no two inputs collide. */
function signature(signingKey: Buffer, key: string, expires: number, grant: DownloadGrant): string {
  const text = [key, String(expires), grant.filename ?? '', grant.contentType ?? ''].join('\n')
  return createHmac('sha256', signingKey).update(text).digest('base64url')
}

/**
 * Builds an absolute signed download link.
 *
 * @param baseUrl the API's public origin, e.g. `http://localhost:8000`
 * @param signingKey the HMAC-SHA256 key
 * @param key the object key (already validated)
 * @param expires when the link dies, in Unix seconds
 * @param grant the file name and type the download answers with
 */
export function signedDownloadUrl(
  baseUrl: string,
  signingKey: Buffer,
  key: string,
  expires: number,
  grant: DownloadGrant,
): string {
  const path = key.split('/').map(encodeURIComponent).join('/')
  // Relative to the base, so a base with a path (`https://host/api`) keeps it.
  const url = new URL(`${DISK_DOWNLOAD_PREFIX.slice(1)}${path}`, `${baseUrl.replace(/\/+$/, '')}/`)
  url.searchParams.set('expires', String(expires))
  if (grant.filename !== undefined) url.searchParams.set('filename', grant.filename)
  if (grant.contentType !== undefined) url.searchParams.set('type', grant.contentType)
  url.searchParams.set('signature', signature(signingKey, key, expires, grant))
  return url.toString()
}

/**
 * Checks a link's signature and lifetime.
 *
 * @param signingKey the HMAC-SHA256 key the link was made with
 * @param key the object key from the path
 * @param query the link's query
 * @param nowMs the current time
 * @returns what the link grants
 * @throws {PermissionException} when the signature does not match or the link has expired
 */
export function verifySignedDownload(
  signingKey: Buffer,
  key: string,
  query: SignedDownloadQuery,
  nowMs = Date.now(),
): DownloadGrant {
  const refused = new PermissionException('Download link is invalid or has expired')
  const text = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined)
  const expires = Number(text('expires'))
  const given = text('signature')
  if (!Number.isInteger(expires) || given === undefined) throw refused
  const grant: DownloadGrant = {}
  const filename = text('filename')
  const contentType = text('type')
  if (filename !== undefined) grant.filename = filename
  if (contentType !== undefined) grant.contentType = contentType
  const expected = Buffer.from(signature(signingKey, key, expires, grant))
  const actual = Buffer.from(given)
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw refused
  if (nowMs > expires * 1000) throw refused
  return grant
}

function servesSignedDownloads(storage: ObjectStorage): storage is ObjectStorage & SignedDownloads {
  return typeof (storage as Partial<SignedDownloads>).openSignedDownload === 'function'
}

/**
 * Serves the signed links of the embedded (disk) storage at `GET /storage/objects/*`, hidden from the
 * OpenAPI document: the object with its content type and `Content-Disposition: attachment`; 403 for a
 * bad or expired link and 404 for a missing object, in the error envelope. Does nothing for a storage
 * that signs its own links (S3).
 *
 * @param app the Fastify instance (its error handler renders the envelope)
 * @param storage the process storage
 */
export function registerDiskDownloads(app: FastifyInstance, storage: ObjectStorage): void {
  if (!servesSignedDownloads(storage)) return
  app.get(`${DISK_DOWNLOAD_PREFIX}*`, { schema: { hide: true } }, async (request, reply) => {
    const key = (request.params as { '*': string })['*']
    const download = await storage.openSignedDownload(key, request.query as SignedDownloadQuery)
    return reply
      .header('content-type', download.contentType)
      .header('content-length', download.size)
      .header('content-disposition', download.disposition)
      .send(download.stream)
  })
}
