/**
 * The prompt-cache model of the simulator, as plain functions over a mutable store. See
 * docs/simulator.md for the rules and where each comes from.
 */
import type { Breakpoint, Position } from "../Prefix.js"
import { LruMap } from "../internal/lru.js"
import type { CacheTtl } from "../Prompt.js"
import { ttlMillis } from "../Prompt.js"
import type { Usage } from "../Response.js"

export interface Entry {
  readonly tokens: number
  readonly ttl: CacheTtl
  /** readable once the writing request's response has begun */
  readonly readableAt: number
  expiresAt: number
}


/** A store bounded in size: least recently used entries go first. */
export class CacheStore {
  readonly entries: LruMap<string, Entry>
  constructor(maxEntries: number) {
    this.entries = new LruMap(maxEntries)
  }

  get(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    if (e.expiresAt <= now) {
      this.entries.delete(key)
      return undefined
    }
    return e
  }

  set(key: string, entry: Entry): void {
    const old = this.entries.peek(key)
    // an entry readable earlier and living longer already covers this write
    const keep = old !== undefined && old.readableAt <= entry.readableAt && old.expiresAt >= entry.expiresAt
    this.entries.set(key, keep ? old : entry)
  }
}

export interface CachePlan {
  readonly usage: Omit<Usage, "output">
  /** the position whose cached entry is read, if any */
  readonly hit: Position | undefined
  /** entries this request writes when its response begins */
  readonly writes: ReadonlyArray<{ readonly position: Position; readonly ttl: CacheTtl }>
}

/**
 * What a request arriving at `now` reads and writes.
 *
 * - reads: from each breakpoint, walk back over at most `lookback` positions (the breakpoint itself
 *   included) for an entry readable at `now`; the longest hit wins;
 * - writes: at each breakpoint after the hit whose prefix reaches the minimum cacheable length; the
 *   tokens of each segment are billed at the TTL of the breakpoint that ends it;
 * - input: everything after the last cacheable breakpoint (everything, when nothing is cacheable).
 */
export const plan = (
  store: CacheStore,
  all: ReadonlyArray<Position>,
  bps: ReadonlyArray<Breakpoint>,
  now: number,
  minTokens: number,
  lookback: number
): CachePlan => {
  const total = all.length === 0 ? 0 : all[all.length - 1]!.cumulativeTokens
  const effective = bps.filter((b) => b.position.cumulativeTokens >= minTokens)
  if (effective.length === 0) {
    return { usage: { input: total, cacheCreation5m: 0, cacheCreation1h: 0, cacheRead: 0 }, hit: undefined, writes: [] }
  }
  let hit: Position | undefined
  for (const bp of effective) {
    const from = bp.position.index
    const to = Math.max(0, from - lookback + 1)
    for (let i = from; i >= to; i--) {
      if (hit !== undefined && i <= hit.index) break
      const p = all[i]!
      if (p.cumulativeTokens < minTokens) break
      const entry = store.get(p.fingerprint, now)
      if (entry !== undefined && entry.readableAt <= now) {
        hit = p
        break
      }
    }
  }
  const read = hit?.cumulativeTokens ?? 0
  let boundary = read
  let cacheCreation5m = 0
  let cacheCreation1h = 0
  const writes: Array<{ position: Position; ttl: CacheTtl }> = []
  for (const bp of effective) {
    if (hit !== undefined && bp.position.index <= hit.index) continue
    const segment = bp.position.cumulativeTokens - boundary
    if (bp.ttl === "1h") cacheCreation1h += segment
    else cacheCreation5m += segment
    boundary = bp.position.cumulativeTokens
    writes.push({ position: bp.position, ttl: bp.ttl })
  }
  return {
    usage: { input: total - boundary, cacheCreation5m, cacheCreation1h, cacheRead: read },
    hit,
    writes
  }
}

/** Refreshes the entry read (at no cost) and records the writes, readable from `begunAt`. */
export const commit = (store: CacheStore, p: CachePlan, readAt: number, begunAt: number): void => {
  if (p.hit !== undefined) {
    const entry = store.get(p.hit.fingerprint, readAt)
    if (entry !== undefined) entry.expiresAt = Math.max(entry.expiresAt, readAt + ttlMillis(entry.ttl))
  }
  for (const w of p.writes) {
    store.set(w.position.fingerprint, {
      tokens: w.position.cumulativeTokens,
      ttl: w.ttl,
      readableAt: begunAt,
      expiresAt: begunAt + ttlMillis(w.ttl)
    })
  }
}
