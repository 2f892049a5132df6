import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

async function waitLive(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`)
    const ok = await fetch(`http://127.0.0.1:${port}/health/live`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('server did not come up')
}

describe('graceful shutdown (npm start)', () => {
  it('lets a request in flight at SIGTERM complete, then exits 0', async () => {
    const port = await freePort()
    const child = spawn(process.execPath, ['src/main.ts'], {
      env: {
        PATH: process.env.PATH,
        APP_ENV: 'test',
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        DATA_DIR: mkdtempSync(join(tmpdir(), 'folio-shutdown-')),
        DATABASE_URL: process.env.DATABASE_URL,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout?.on('data', (chunk) => {
      output += chunk
    })
    await waitLive(port, child)

    // A request whose body is still arriving is in flight: the server must wait for it.
    const socket = connect(port, '127.0.0.1')
    await once(socket, 'connect')
    const body = JSON.stringify({ hello: 'world' })
    socket.write(
      `POST /api/v1/in-flight HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    )
    socket.write(body.slice(0, 5))
    let response = ''
    socket.on('data', (chunk) => {
      response += chunk
    })
    await new Promise((resolve) => setTimeout(resolve, 200))

    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(child.exitCode).toBeNull()
    socket.end(body.slice(5))
    await once(socket, 'close')

    expect(response).toMatch(/^HTTP\/1\.1 404 /)
    expect(response).toContain('"code":404')
    const [code] = await exited
    expect(code).toBe(0)
    expect(output).toContain('shutdown complete')
  }, 90_000)
})
