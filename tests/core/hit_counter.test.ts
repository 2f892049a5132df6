import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Cache } from '../../src/core/cache.ts'
import { createMemoryCache } from '../../src/core/cache_memory.ts'
import { HitCounter } from '../../src/core/hit_counter.ts'
import { DependencyException } from '../../src/exceptions.ts'

describe('HitCounter', () => {
  let cache: Cache
  let counter: HitCounter

  beforeEach(() => {
    cache = createMemoryCache()
    counter = new HitCounter(cache)
  })
  afterEach(() => cache.close())

  it("sends one turn's hits of a counter as one increment, each hit with a count of its own", async () => {
    const incr = vi.spyOn(cache, 'incr')
    const counts = await Promise.all(Array.from({ length: 10 }, () => counter.hit('ip', 60)))
    expect(counts.map((c) => c.count)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(incr).toHaveBeenCalledTimes(1)
    expect(incr).toHaveBeenCalledWith('ip', 60, 10)
    expect(counts[0]!.ttlMs).toBeGreaterThan(59_000)
  })

  it('keeps counters apart, and counts on across turns', async () => {
    const incr = vi.spyOn(cache, 'incr')
    const [a, b] = await Promise.all([counter.hit('a', 60), counter.hit('b', 60)])
    expect([a.count, b.count]).toEqual([1, 1])
    expect((await counter.hit('a', 60)).count).toBe(2)
    expect(incr).toHaveBeenCalledTimes(3)
  })

  it("fails every hit of a failed increment, and the next turn's hits go through", async () => {
    vi.spyOn(cache, 'incr').mockRejectedValueOnce(new DependencyException('cache'))
    const failed = await Promise.allSettled([counter.hit('ip', 60), counter.hit('ip', 60)])
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect((failed[0] as PromiseRejectedResult).reason).toBeInstanceOf(DependencyException)
    expect((await counter.hit('ip', 60)).count).toBe(1)
  })
})
