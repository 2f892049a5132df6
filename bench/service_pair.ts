import { randomBytes } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { type Child, freePort, killNow, startChild, stopChild, waitForHttp } from './children.ts'
import type { ServiceBaseline } from './scenario.ts'
import { READY_TIMEOUT_MS, STOP_GRACE_MS, script, serviceEnv } from './servers.ts'

/** Two more service children of one scenario: the configuration measured and the one it is compared with. */
export interface ServicePair {
  subject: Child
  baseline: Child
  /** Stops both, removes their data folders and deletes their cache keys from Redis; safe to call twice. */
  stop(): Promise<void>
}

/** Deletes every key under `prefix` (SCAN + UNLINK, never KEYS); the prefix holds no glob characters. */
async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await client.connect()
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await client.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
}

/** Starts one service child in a fresh data folder; `dirs` collects the folder for removal. */
async function startOne(
  name: string,
  databaseUrl: string,
  env: Record<string, string>,
  dirs: string[],
): Promise<Child> {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'folio-bench-'))
  dirs.push(dataDir)
  const log = openSync(new URL(`./results/${name}.log`, import.meta.url), 'w')
  const child = startChild({
    name,
    script: script('../src/main.ts'),
    port,
    env: { ...serviceEnv(port, dataDir, databaseUrl), ...env },
    cwd: dataDir,
    stdout: log,
  })
  closeSync(log)
  return child
}

/**
 * Starts the two service children a {@link ServiceBaseline} scenario compares, on the bench database,
 * with a cache key prefix of their own (shared by the two, so a token made on one works on the other),
 * and waits until both answer. Their logs go to `bench/results/<scenario>.<role>.log`.
 *
 * @param scenario the scenario's name
 * @param databaseUrl the bench database
 * @param baseline the two configurations
 * @returns the running pair
 * @throws {Error} when either child exits or is not ready in time (both are stopped then)
 */
export async function startServicePair(
  scenario: string,
  databaseUrl: string,
  baseline: ServiceBaseline,
): Promise<ServicePair> {
  const prefix = `folio-bench-${scenario}-${randomBytes(4).toString('hex')}:`
  const shared: Record<string, string> = { ...baseline.env, CACHE_KEY_PREFIX: prefix }
  const dirs: string[] = []
  const subject = await startOne(`${scenario}.subject`, databaseUrl, shared, dirs)
  const base = await startOne(
    `${scenario}.baseline`,
    databaseUrl,
    { ...shared, ...baseline.baselineEnv },
    dirs,
  )
  const removeDirs = () => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
  const kill = () => {
    killNow(subject)
    killNow(base)
    removeDirs()
  }
  process.once('exit', kill)
  let stopped: Promise<void> | undefined
  const pair: ServicePair = {
    subject,
    baseline: base,
    stop() {
      stopped ??= (async () => {
        await Promise.all([stopChild(subject, STOP_GRACE_MS), stopChild(base, STOP_GRACE_MS)])
        process.removeListener('exit', kill)
        removeDirs()
        const redisUrl = shared.REDIS_URL ?? process.env.REDIS_URL
        if (redisUrl) await deleteRedisPrefix(redisUrl, prefix)
      })()
      return stopped
    },
  }
  try {
    await Promise.all([
      waitForHttp(subject, '/health/live', READY_TIMEOUT_MS),
      waitForHttp(base, '/health/live', READY_TIMEOUT_MS),
    ])
  } catch (error) {
    await pair.stop()
    throw error
  }
  return pair
}
