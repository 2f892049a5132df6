import DataLoader from 'dataloader'
import type { PageMetaBody, Pagination } from '../schemas/base.ts'

/** The success envelope body. */
export interface Ok<T> {
  code: number
  message: 'success'
  data: T
}

/**
 * Wraps data in the success envelope.
 * @param data the payload
 * @param code the HTTP status the route answers with (200 unless created)
 */
export function ok<T>(data: T, code = 200): Ok<T> {
  return { code, message: 'success', data }
}

/**
 * Computes page meta.
 * @param total the number of matching rows
 * @param pagination the requested page and size
 */
export function pageMeta(total: number, { page, size }: Pagination): PageMetaBody {
  const pages = total === 0 ? 0 : Math.ceil(total / size)
  return { total, page, size, pages, has_next: page < pages, has_prev: page > 1 }
}

/** A page of items with meta, as the list routes return it. */
export interface PageResult<T> {
  items: T[]
  meta: PageMetaBody
}

/**
 * Builds a page result.
 * @param items the rows of this page
 * @param total the number of matching rows
 * @param pagination the requested page and size
 */
export function toPage<T>(items: T[], total: number, pagination: Pagination): PageResult<T> {
  return { items, meta: pageMeta(total, pagination) }
}

/**
 * Rejects when `promise` has not settled within `ms`.
 * @param promise the work to bound
 * @param ms the time limit
 * @param what a label for the timeout error
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Batches calls per event-loop turn: every `load` made before the loop next checks for I/O joins one
 * call of `run`, at most `maxBatchSize` keys at a time. Nothing is cached (each load is sent); a
 * failed batch fails every load in it, an `Error` in place of a value fails that load only.
 * @param run answers a batch of keys, one value (or `Error`) per key in their order
 * @param maxBatchSize the most keys per batch
 */
export function perTurnBatch<K, V>(
  run: (keys: readonly K[]) => Promise<(V | Error)[]>,
  maxBatchSize: number,
): DataLoader<K, V> {
  return new DataLoader(run, { cache: false, maxBatchSize, batchScheduleFn: (flush) => setImmediate(flush) })
}
