/**
 * The Lua scripts of the Redis cache adapter. Each runs atomically on the server; ioredis sends them
 * by SHA (EVALSHA) and falls back to EVAL when Redis has not seen them yet.
 */

import type { Redis } from 'ioredis'

/** A script as ioredis' `defineCommand` takes it. */
interface LuaScript {
  /** Fixed key count, or omitted when the caller passes the count first. */
  numberOfKeys?: number
  lua: string
}

/**
 * INCR with the expiry set only when the counter has none (it was just created, or a plain SET left it
 * without one). KEYS[1] counter; ARGV[1] window in ms. Returns `{count, ttlMs}`.
 */
const INCR_WINDOW: LuaScript = {
  numberOfKeys: 1,
  lua: `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`,
}

/**
 * SET of one value under one or more keys, plus filing them under tag sets. A tag set lives at least
 * as long as its longest-lived member, and forever when a member has no TTL. KEYS[1..n] values,
 * KEYS[n+1..] tag sets; ARGV[1] value, ARGV[2] TTL in ms or '' for none, ARGV[3] n (1 when absent).
 */
const SET_TAGGED: LuaScript = {
  lua: `
local ttl = tonumber(ARGV[2])
local count = tonumber(ARGV[3]) or 1
for i = 1, count do
  if ttl then
    redis.call('SET', KEYS[i], ARGV[1], 'PX', ttl)
  else
    redis.call('SET', KEYS[i], ARGV[1])
  end
end
for i = count + 1, #KEYS do
  local existed = redis.call('EXISTS', KEYS[i])
  redis.call('SADD', KEYS[i], unpack(KEYS, 1, count))
  if not ttl then
    redis.call('PERSIST', KEYS[i])
  else
    local left = redis.call('PTTL', KEYS[i])
    if existed == 0 or (left >= 0 and left < ttl) then redis.call('PEXPIRE', KEYS[i], ttl) end
  end
end
return 1`,
}

/**
 * Deletes every member of a tag set, then the set. KEYS[1] tag set. Returns how many members existed.
 * The members are keys not declared in KEYS: fine on a single Redis, not on Redis Cluster.
 */
const INVALIDATE_TAG: LuaScript = {
  numberOfKeys: 1,
  lua: `
local members = redis.call('SMEMBERS', KEYS[1])
local deleted = 0
for i = 1, #members, 500 do
  deleted = deleted + redis.call('UNLINK', unpack(members, i, math.min(i + 499, #members)))
end
redis.call('UNLINK', KEYS[1])
return deleted`,
}

/** Compare-and-expire: KEYS[1] lock; ARGV[1] token, ARGV[2] TTL in ms. Returns 1 when renewed. */
const RENEW_LOCK: LuaScript = {
  numberOfKeys: 1,
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`,
}

/** Compare-and-delete: KEYS[1] lock; ARGV[1] token. Returns 1 when released. */
const RELEASE_LOCK: LuaScript = {
  numberOfKeys: 1,
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`,
}

/** The client with the adapter's Lua scripts defined on it, as {@link withScripts} returns it. */
export interface ScriptedRedis extends Redis {
  folioIncrWindow(key: string, windowMs: number, by: number): Promise<[number, number]>
  folioSetTagged(keyCount: number, ...keysThenArgs: string[]): Promise<number>
  folioInvalidateTag(tagKey: string): Promise<number>
  folioRenewLock(key: string, token: string, ttlMs: number): Promise<number>
  folioReleaseLock(key: string, token: string): Promise<number>
}

/**
 * Defines the adapter's scripts on a client.
 * @param client a fresh ioredis client
 * @returns the same client, typed with the script commands
 */
export function withScripts(client: Redis): ScriptedRedis {
  client.defineCommand('folioIncrWindow', INCR_WINDOW)
  client.defineCommand('folioSetTagged', SET_TAGGED)
  client.defineCommand('folioInvalidateTag', INVALIDATE_TAG)
  client.defineCommand('folioRenewLock', RENEW_LOCK)
  client.defineCommand('folioReleaseLock', RELEASE_LOCK)
  return client as ScriptedRedis
}
