/**
 * The prompt-cache model of the simulator, as plain functions over a mutable store. See
 * docs/simulator.md for the rules and where each comes from.
 */
import type { Breakpoint, Position } from "../Prefix.js"
import { LruMap } from "../internal/lru.js"
import { ttlMillis } from "../Prompt.js"
import type { Usage } from "../Response.js"

export interface Entry {
  readonly tokens: number
  /** how long the entry lives after it was written or last read */
  readonly ttlMs: number
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

/** an entry a request writes: its store key, its prefix length, its TTL */
export interface Write {
  readonly key: string
  readonly tokens: number
  readonly ttlMs: number
}

export interface CachePlan {
  readonly usage: Omit<Usage, "output">
  /** the store key of the entry read, if any */
  readonly hit: string | undefined
  /** entries this request writes when its response begins */
  readonly writes: ReadonlyArray<Write>
  /** entries its read keeps alive besides the one it read (OpenAI: the shorter prefixes of a hit) */
  readonly refreshes?: ReadonlyArray<string> | undefined
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
  lookback: number,
  /** the cache the request reaches (a platform's region, project…): keys of two namespaces never meet */
  namespace = ""
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
      const entry = store.get(namespace + p.fingerprint, now)
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
  const writes: Array<Write> = []
  for (const bp of effective) {
    if (hit !== undefined && bp.position.index <= hit.index) continue
    const segment = bp.position.cumulativeTokens - boundary
    if (bp.ttl === "1h") cacheCreation1h += segment
    else cacheCreation5m += segment
    boundary = bp.position.cumulativeTokens
    writes.push({ key: namespace + bp.position.fingerprint, tokens: bp.position.cumulativeTokens, ttlMs: ttlMillis(bp.ttl) })
  }
  return {
    usage: { input: total - boundary, cacheCreation5m, cacheCreation1h, cacheRead: read },
    hit: hit === undefined ? undefined : namespace + hit.fingerprint,
    writes
  }
}

/** Refreshes the entries read (at no cost) and records the writes, readable from `begunAt`. */
export const commit = (store: CacheStore, p: CachePlan, readAt: number, begunAt: number): void => {
  for (const key of p.hit === undefined ? [] : [p.hit, ...(p.refreshes ?? [])]) {
    const entry = store.get(key, readAt)
    if (entry !== undefined) entry.expiresAt = Math.max(entry.expiresAt, readAt + entry.ttlMs)
  }
  for (const w of p.writes) {
    store.set(w.key, { tokens: w.tokens, ttlMs: w.ttlMs, readableAt: begunAt, expiresAt: begunAt + w.ttlMs })
  }
}
