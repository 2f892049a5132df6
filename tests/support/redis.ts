import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import { Redis } from 'ioredis'

/** A key prefix no other test run shares, e.g. `folio-test:<uuid>:`. */
export function testKeyPrefix(): string {
  return `folio-test:${randomUUID()}:`
}

/**
 * Deletes the keys starting with `prefix` (SCAN + UNLINK), leaving the rest of Redis alone.
 *
 * @param url the Redis URL
 * @param prefix the test run's key prefix
 */
export async function removeRedisKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  try {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) await client.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
}

/** A TCP proxy the test can stop and restart on the same port. */
export interface RedisProxy {
  port: number
  /** Drops every connection and stops listening (an outage as clients see it). */
  stop(): Promise<void>
  /** Listens again on the same port. */
  restart(): Promise<void>
  /** The client writes seen so far (RESP as text), one entry per chunk read; emptied by each call. */
  takeWrites(): string[]
}

/**
 * Starts a TCP proxy to Redis on a free local port, to simulate an outage without touching Redis.
 *
 * @param host the Redis host
 * @param port the Redis port
 */
export async function startRedisProxy(host: string, port: number): Promise<RedisProxy> {
  const sockets = new Set<Socket>()
  let writes: string[] = []
  let server = createServer()
  const listen = async (listenPort: number) => {
    server = createServer((client) => {
      const target = connect(port, host)
      for (const socket of [client, target]) {
        sockets.add(socket)
        socket.on('error', () => {})
        socket.on('close', () => {
          sockets.delete(socket)
          client.destroy()
          target.destroy()
        })
      }
      client.on('data', (chunk: Buffer) => writes.push(chunk.toString('latin1')))
      client.pipe(target).pipe(client)
    })
    server.listen(listenPort, '127.0.0.1')
    await once(server, 'listening')
    return (server.address() as { port: number }).port
  }
  const proxyPort = await listen(0)
  return {
    port: proxyPort,
    async stop() {
      for (const socket of sockets) socket.destroy()
      if (server.listening) await new Promise((resolve) => server.close(resolve))
    },
    async restart() {
      await listen(proxyPort)
    },
    takeWrites() {
      const taken = writes
      writes = []
      return taken
    },
  }
}
