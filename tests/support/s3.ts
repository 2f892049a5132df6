import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from 'minio'
import S3rver from 's3rver'

/** An S3 API for a test file and how to reach it. */
export interface TestS3 {
  endpoint: string
  accessKey: string
  secretKey: string
  region: string
  /** A raw client, to look at the bucket behind the adapter's back. */
  client: Client
  /** A bucket name no other run uses; it does not exist yet. */
  freshBucket(): string
  /** @returns every key in `bucket` */
  listKeys(bucket: string): Promise<string[]>
  /** Removes the buckets made through {@link TestS3.freshBucket}, then stops s3rver if started. */
  close(): Promise<void>
}

/**
 * The S3 of a test file: the real one when `S3_ENDPOINT` is set (MinIO in CI), else s3rver started on
 * a random loopback port in a temp folder. s3rver knows one account, `S3RVER`; it does not check V4
 * signatures (it does check presigned URL expiry).
 */
export async function startTestS3(): Promise<TestS3> {
  let server: S3rver | undefined
  let directory: string | undefined
  let endpoint = process.env.S3_ENDPOINT
  let accessKey = process.env.S3_ACCESS_KEY ?? 'minioadmin'
  let secretKey = process.env.S3_SECRET_KEY ?? 'minioadmin'
  const region = process.env.S3_REGION ?? 'us-east-1'
  if (!endpoint) {
    directory = mkdtempSync(join(tmpdir(), 'folio-s3rver-'))
    server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [] })
    const { port } = await server.run()
    endpoint = `http://127.0.0.1:${port}`
    accessKey = 'S3RVER'
    secretKey = 'S3RVER'
  }
  const url = new URL(endpoint)
  const client = new Client({
    endPoint: url.hostname,
    port: Number(url.port) || undefined,
    useSSL: url.protocol === 'https:',
    accessKey,
    secretKey,
    region,
    pathStyle: true,
    retryOptions: { disableRetry: true },
  })
  const buckets: string[] = []

  async function listKeys(bucket: string): Promise<string[]> {
    const keys: string[] = []
    for await (const item of client.listObjectsV2(bucket, '', true)) {
      if (item.name) keys.push(item.name)
    }
    return keys
  }

  return {
    endpoint,
    accessKey,
    secretKey,
    region,
    client,
    freshBucket() {
      const name = `folio-test-${randomBytes(6).toString('hex')}`
      buckets.push(name)
      return name
    },
    listKeys,
    async close() {
      for (const bucket of buckets) {
        if (!(await client.bucketExists(bucket))) continue
        // One by one: s3rver sometimes answers a multi-object delete with 500.
        for (const key of await listKeys(bucket)) await client.removeObject(bucket, key)
        await client.removeBucket(bucket)
      }
      if (server) await server.close()
      if (directory) rmSync(directory, { recursive: true, force: true })
    },
  }
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const address = probe.address()
  await new Promise((resolve) => probe.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}
