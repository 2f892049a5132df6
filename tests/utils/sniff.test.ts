import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { deflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { OCTET_STREAM, SNIFF_BYTES, sniffContentType, sniffStream } from '../../src/utils/sniff.ts'

/** A real 1x1 PNG, built chunk by chunk, so the test does not just echo the signature table. */
function tinyPng(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff
    for (const b of bytes) c = (crcTable[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const out = Buffer.alloc(8 + data.length + 4)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc(body), 8 + data.length)
    return out
  }
  // Width 1, height 1, 8-bit RGB, default compression, filter and interlace.
  const header = Buffer.alloc(13)
  header.writeUInt32BE(1, 0)
  header.writeUInt32BE(1, 4)
  header[8] = 8
  header[9] = 2
  return Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.from([0, 255, 0, 0]))),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

/** The first bytes of real files of each type, as their writers produce them. */
const SAMPLES: [string, Buffer][] = [
  ['image/png', tinyPng()],
  // JFIF JPEG: SOI, then the APP0 segment.
  ['image/jpeg', Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex')],
  // Exif JPEG (phones): SOI, then APP1.
  ['image/jpeg', Buffer.from('ffd8ffe1001845786966000049492a00', 'hex')],
  ['image/gif', Buffer.from('GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!', 'latin1')],
  ['image/gif', Buffer.from('GIF87a\x01\x00\x01\x00\x00\x00\x00,', 'latin1')],
  ['image/webp', Buffer.from('RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00', 'latin1')],
  ['application/pdf', Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n', 'latin1')],
]

function chunked(bytes: Buffer, size: number): Readable {
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size))
  return Readable.from(chunks, { objectMode: false })
}

const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

describe('sniffContentType', () => {
  it.each(SAMPLES)('detects %s from its magic bytes', (type, bytes) => {
    expect(sniffContentType(bytes)).toBe(type)
  })

  it('says null for text, even when it claims to be an image, and for too few bytes', () => {
    expect(sniffContentType(Buffer.from('just some text, saved as photo.png'))).toBeNull()
    expect(sniffContentType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull()
    expect(sniffContentType(Buffer.from('RIFF\x1a\x00\x00\x00WAVEfmt ', 'latin1'))).toBeNull()
    expect(sniffContentType(Buffer.from([0x89, 0x50, 0x4e]))).toBeNull()
    expect(sniffContentType(Buffer.alloc(0))).toBeNull()
  })
})

describe('sniffStream', () => {
  it.each(SAMPLES)(
    'sniffs %s from a stream split into 1-byte chunks, losing nothing',
    async (type, bytes) => {
      const { contentType, stream } = await sniffStream(chunked(bytes, 1))
      expect(contentType).toBe(type)
      expect(Buffer.concat(await stream.toArray())).toEqual(bytes)
    },
  )

  it('yields every byte of a large stream after the peek', async () => {
    const bytes = Buffer.concat([tinyPng(), randomBytes(2 * 1024 * 1024)])
    const { contentType, stream } = await sniffStream(chunked(bytes, 7_000))
    expect(contentType).toBe('image/png')
    expect(digest(Buffer.concat(await stream.toArray()))).toBe(digest(bytes))
  })

  it('calls unknown bytes octet-stream, whatever the upload was named', async () => {
    const text = Buffer.from('definitely not a picture, despite the name photo.png')
    const { contentType, stream } = await sniffStream(chunked(text, 5))
    expect(contentType).toBe(OCTET_STREAM)
    expect(Buffer.concat(await stream.toArray()).toString()).toBe(text.toString())
  })

  it('handles a stream shorter than the peek, and an empty one', async () => {
    const short = await sniffStream(chunked(Buffer.from('GIF'), 1))
    expect(short.contentType).toBe(OCTET_STREAM)
    expect(Buffer.concat(await short.stream.toArray()).toString()).toBe('GIF')
    const empty = await sniffStream(Readable.from([], { objectMode: false }))
    expect(await empty.stream.toArray()).toEqual([])
    expect(SNIFF_BYTES).toBeGreaterThanOrEqual(12)
  })

  it('passes on an error that comes after the peek', async () => {
    const source = new Readable({ read() {} })
    source.push(tinyPng())
    const { stream } = await sniffStream(source)
    setImmediate(() => source.destroy(new Error('client went away')))
    await expect(stream.toArray()).rejects.toThrow('client went away')
  })

  it('fails, never ends cleanly, when the source is closed early without an error', async () => {
    const source = new Readable({ read() {} })
    source.push(tinyPng())
    const { stream } = await sniffStream(source)
    setImmediate(() => source.destroy())
    await expect(stream.toArray()).rejects.toThrow(/premature close/i)
  })

  it('rejects when the source fails before the peek is complete', async () => {
    const source = new Readable({ read() {} })
    source.push(Buffer.from('%P'))
    setImmediate(() => source.destroy(new Error('client went away')))
    await expect(sniffStream(source)).rejects.toThrow('client went away')
  })

  it('destroys the source when the sniffed stream is destroyed', async () => {
    const source = chunked(Buffer.concat([tinyPng(), randomBytes(1024 * 1024)]), 1024)
    const { stream } = await sniffStream(source)
    stream.destroy()
    await new Promise((resolve) => stream.once('close', resolve))
    await new Promise((resolve) => setImmediate(resolve))
    expect(source.destroyed).toBe(true)
  })
})
