import type { Cache, IncrResult } from './cache.ts'

/** The hits of one counter waiting to be sent together. */
interface PendingHits {
  windowSeconds: number
  settle: { resolve(result: IncrResult): void; reject(error: unknown): void }[]
}

/**
 * Counts hits per counter in one command for all the requests of one turn of the event loop (the
 * hits are sent from `setImmediate`, once the requests of every socket ready in that turn were read):
 * a client sending many requests at once (a flood from one IP, the case limits exist for) costs one
 * INCRBY per turn instead of one per request. Each hit still gets a count of its own, in arrival
 * order, so the request over the limit is exactly the (N+1)th, and every instance shares the counts.
 */
export class HitCounter {
  readonly #cache: Cache
  #pending = new Map<string, PendingHits>()

  /** @param cache where the counters live */
  constructor(cache: Cache) {
    this.#cache = cache
  }

  /**
   * Counts one hit of a fixed-window counter, sent with the turn's other hits of it.
   * @param key the counter
   * @param windowSeconds its window, as {@link Cache.incr} takes it
   * @returns the count of this hit and the time left in the window
   */
  hit(key: string, windowSeconds: number): Promise<IncrResult> {
    let pending = this.#pending.get(key)
    if (!pending) {
      pending = { windowSeconds, settle: [] }
      this.#pending.set(key, pending)
      if (this.#pending.size === 1) setImmediate(() => this.#flush())
    }
    const hits = pending.settle
    return new Promise((resolve, reject) => hits.push({ resolve, reject }))
  }

  #flush(): void {
    const batches = this.#pending
    this.#pending = new Map()
    for (const [key, { windowSeconds, settle }] of batches) {
      this.#cache.incr(key, windowSeconds, settle.length).then(
        ({ count, ttlMs }) => {
          const first = count - settle.length + 1
          for (const [i, hit] of settle.entries()) hit.resolve({ count: first + i, ttlMs })
        },
        (error: unknown) => {
          for (const hit of settle) hit.reject(error)
        },
      )
    }
  }
}
