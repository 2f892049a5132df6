import type DataLoader from 'dataloader'
import { perTurnBatch } from '../utils/helpers.ts'
import type { Cache, IncrResult } from './cache.ts'

/** One hit of a fixed-window counter. */
interface Hit {
  key: string
  windowSeconds: number
}

/**
 * Counts hits per counter in one command for all the requests of one turn of the event loop
 * ({@link perTurnBatch}): a client sending many requests at once (a flood from one IP, the case limits
 * exist for) costs one INCRBY per turn instead of one per request. Each hit still gets a count of its
 * own, in arrival order, so the request over the limit is exactly the (N+1)th, and every instance
 * shares the counts.
 */
export class HitCounter {
  readonly #hits: DataLoader<Hit, IncrResult>

  /** @param cache where the counters live */
  constructor(cache: Cache) {
    this.#hits = perTurnBatch((hits) => countTurn(cache, hits), Number.POSITIVE_INFINITY)
  }

  /**
   * Counts one hit of a fixed-window counter, sent with the turn's other hits of it.
   * @param key the counter
   * @param windowSeconds its window, as {@link Cache.incr} takes it
   * @returns the count of this hit and the time left in the window
   */
  hit(key: string, windowSeconds: number): Promise<IncrResult> {
    return this.#hits.load({ key, windowSeconds })
  }
}

/** One increment per counter for a turn's hits; a failed increment fails that counter's hits only. */
async function countTurn(cache: Cache, hits: readonly Hit[]): Promise<(IncrResult | Error)[]> {
  const results: (IncrResult | Error)[] = []
  const positionsByKey = Map.groupBy(hits.keys(), (i) => hits[i]!.key)
  await Promise.all(
    [...positionsByKey].map(async ([key, positions]) => {
      try {
        const { count, ttlMs } = await cache.incr(key, hits[positions[0]!]!.windowSeconds, positions.length)
        const first = count - positions.length + 1
        for (const [i, position] of positions.entries()) results[position] = { count: first + i, ttlMs }
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error))
        for (const position of positions) results[position] = failure
      }
    }),
  )
  return results
}
