import { existsSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { Client } from 'minio'
import type { TestApp } from './app.ts'
import { unique } from './factories.ts'

/** One part of a multipart form: a text field, or a file. */
export type FormPart =
  | { name: string; value: string }
  | { name: string; filename: string; content: Buffer; type?: string }

/**
 * A `multipart/form-data` body with its parts in the given order.
 * @param parts the fields and files
 * @returns the payload and its content-type header
 */
export function multipartForm(parts: FormPart[]) {
  const boundary = `----folio${unique()}`
  const chunks = parts.flatMap((part) =>
    'content' in part
      ? [
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n` +
              `Content-Type: ${part.type ?? 'application/octet-stream'}\r\n\r\n`,
          ),
          part.content,
          Buffer.from('\r\n'),
        ]
      : [
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`,
          ),
        ],
  )
  const payload = Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)])
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

function walk(dir: string, root: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? walk(path, root) : [relative(root, path).split('\\').join('/')]
  })
}

/**
 * Every object key stored under a prefix, looked up behind the app's back: the objects folder of the
 * disk adapter, or a listing of the S3 bucket.
 *
 * @param t the test app
 * @param prefix a key prefix such as `files/<owner_id>/`
 */
export async function objectsUnder(t: TestApp, prefix: string): Promise<string[]> {
  if (t.app.infra.storage.mode === 'embedded') {
    const root = join(t.settings.dataDir, 'objects')
    return walk(join(root, ...prefix.split('/').filter(Boolean)), root)
  }
  const { endpoint, accessKey, secretKey, region, bucket } = t.settings.s3
  const url = new URL(endpoint!)
  const client = new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    useSSL: url.protocol === 'https:',
    accessKey,
    secretKey,
    region,
    pathStyle: true,
  })
  const keys: string[] = []
  for await (const item of client.listObjectsV2(bucket, prefix, true)) {
    if (item.name) keys.push(item.name)
  }
  return keys
}
