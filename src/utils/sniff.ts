import { Readable } from 'node:stream'

/** The type given to bytes no signature matched. */
export const OCTET_STREAM = 'application/octet-stream'

/** How many leading bytes {@link sniffStream} reads: enough for every signature below. */
export const SNIFF_BYTES = 16

interface Signature {
  contentType: string
  /** Byte values to match from `offset`; null matches any byte. */
  bytes: (number | null)[]
  offset?: number
}

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0))

/** Magic numbers, from the formats' specifications (and the WHATWG MIME Sniffing standard). */
const SIGNATURES: Signature[] = [
  { contentType: 'image/png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { contentType: 'image/jpeg', bytes: [0xff, 0xd8, 0xff] },
  { contentType: 'image/gif', bytes: ascii('GIF87a') },
  { contentType: 'image/gif', bytes: ascii('GIF89a') },
  // A RIFF container (4-byte length after the tag) whose form type is WEBP.
  { contentType: 'image/webp', bytes: [...ascii('RIFF'), null, null, null, null, ...ascii('WEBP')] },
  { contentType: 'application/pdf', bytes: ascii('%PDF-') },
]

function matches(head: Uint8Array, { bytes, offset = 0 }: Signature): boolean {
  if (head.length < offset + bytes.length) return false
  return bytes.every((b, i) => b === null || head[offset + i] === b)
}

/**
 * Identifies a file from its first bytes only, never from its name: PNG, JPEG, GIF, WebP and PDF.
 *
 * @param head the first bytes of the file ({@link SNIFF_BYTES} are enough)
 * @returns the MIME type, or null when no known signature matches
 */
export function sniffContentType(head: Uint8Array): string | null {
  return SIGNATURES.find((signature) => matches(head, signature))?.contentType ?? null
}

/** The outcome of {@link sniffStream}. */
export interface SniffedStream {
  /** The sniffed type, or `application/octet-stream` when unknown. */
  contentType: string
  /** Yields every byte of the original stream, the peeked ones included. */
  stream: Readable
}

/**
 * Reads the first bytes of a stream to sniff its type, and hands back a stream that still yields all
 * of it. Only the head is held in memory. Errors of the source, before or after the head, reach the
 * returned stream (or reject this call); destroying the returned stream destroys the source.
 *
 * @param source the bytes, e.g. an upload
 * @param bytes how many leading bytes to examine
 * @returns the type and the whole stream
 */
export async function sniffStream(source: Readable, bytes = SNIFF_BYTES): Promise<SniffedStream> {
  const iterator: AsyncIterator<unknown> = source[Symbol.asyncIterator]()
  const chunks: Buffer[] = []
  let length = 0
  let ended = false
  while (length < bytes) {
    const next = await iterator.next()
    if (next.done) {
      ended = true
      break
    }
    const chunk = toBuffer(next.value)
    chunks.push(chunk)
    length += chunk.length
  }
  const head = Buffer.concat(chunks)
  let pending: Buffer | null = head.length > 0 ? head : null

  const stream = new Readable({
    async read() {
      try {
        if (pending) {
          const first = pending
          pending = null
          this.push(first)
          return
        }
        const next = ended ? { done: true, value: undefined } : await iterator.next()
        this.push(next.done ? null : toBuffer(next.value))
      } catch (error) {
        this.destroy(error as Error)
      }
    },
    destroy(error, callback) {
      // A consumer giving up (or failing) releases the source too.
      if (!source.destroyed) source.destroy()
      callback(error)
    },
  })
  return { contentType: sniffContentType(head) ?? OCTET_STREAM, stream }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  return Buffer.from(String(chunk))
}
