import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** Enough of a child's stderr to say why it died. */
const STDERR_TAIL_BYTES = 8 * 1024

/** A server the benchmark started, and how to reach it. */
export interface Child {
  name: string
  process: ChildProcess
  /** `http://127.0.0.1:<port>` */
  url: string
  /** The last few KiB the child wrote to stderr. */
  stderrTail(): string
  /** Resolves with the exit code (or the signal's name) when the child ends. */
  exited: Promise<number | string>
}

/** How to start a {@link Child}. */
export interface ChildOptions {
  name: string
  /** Absolute path of the script node runs. */
  script: string
  port: number
  env: NodeJS.ProcessEnv
  cwd: string
  /** Where stdout goes: a file descriptor, or nowhere. */
  stdout: number | 'ignore'
}

/**
 * Finds a TCP port free on the loopback interface (the OS picks; a tiny race remains until it is used).
 *
 * @returns the port number
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

/**
 * Starts a node script as a child process listening on 127.0.0.1.
 *
 * @param options the script, its port, environment and output
 * @returns the running child
 */
export function startChild(options: ChildOptions): Child {
  const child = spawn(process.execPath, [options.script], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', options.stdout, 'pipe'],
  })
  let tail = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL_BYTES)
  })
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  return {
    name: options.name,
    process: child,
    url: `http://127.0.0.1:${options.port}`,
    stderrTail: () => tail,
    exited,
  }
}

/**
 * Polls a child until it answers HTTP at `path` with a status `accept` takes.
 *
 * @param child the child to wait for
 * @param path the path to poll
 * @param timeoutMs how long to wait in all
 * @param accept which statuses mean ready (2xx by default)
 * @throws {Error} when the child exits or the time is up
 */
export async function waitForHttp(
  child: Child,
  path: string,
  timeoutMs: number,
  accept: (status: number) => boolean = (status) => status >= 200 && status < 300,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exit: number | string | undefined
  void child.exited.then((code) => {
    exit = code
  })
  while (Date.now() < deadline) {
    if (exit !== undefined)
      throw new Error(`${child.name} exited (${exit}) before it was ready:\n${child.stderrTail()}`)
    const ok = await fetch(`${child.url}${path}`, { signal: AbortSignal.timeout(2_000) }).then(
      (reply) => {
        void reply.body?.cancel()
        return accept(reply.status)
      },
      () => false,
    )
    if (ok) return
    await sleep(200)
  }
  throw new Error(`${child.name} not ready on ${path} after ${timeoutMs} ms:\n${child.stderrTail()}`)
}

/**
 * Stops a child: SIGTERM, then SIGKILL when it has not exited after `graceMs`.
 *
 * @param child the child to stop
 * @param graceMs how long it may take to shut down
 */
export async function stopChild(child: Child, graceMs: number): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  child.process.kill('SIGTERM')
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs)
  await child.exited
  clearTimeout(timer)
}

/**
 * Kills a child at once; safe in an `exit` handler, where nothing asynchronous runs.
 *
 * @param child the child to kill
 */
export function killNow(child: Child): void {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL')
}
