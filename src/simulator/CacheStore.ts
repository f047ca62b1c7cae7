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


/**
 * A store bounded in size: least recently used entries go first. Entries that left (expired, or
 * pushed out by the bound) are remembered, bounded too, so a miss can be told apart from a first sight.
 */
export class CacheStore {
  readonly entries: LruMap<string, Entry>
  /** entries that left the store, as they were when they left */
  readonly gone: LruMap<string, Entry>
  /** entries being written by requests whose response has not begun, by how many */
  readonly writing = new Map<string, number>()
  constructor(maxEntries: number, maxGone = Math.min(maxEntries, 20_000)) {
    this.entries = new LruMap(maxEntries, (key, entry) => this.gone.set(key, entry))
    this.gone = new LruMap(maxGone)
  }

  /**
   * Expired entries leave as soon as a write passes their expiry, not when the bound pushes them out:
   * the store holds what is alive (a day of users holds the last minutes' entries, not the day's).
   * Least recently used first, a few per write, stopping at the first entry still alive.
   */
  private sweep(now: number): void {
    for (let i = 0; i < 8; i++) {
      const oldest = this.entries.oldest()
      if (oldest === undefined || oldest[1].expiresAt > now) return
      this.entries.delete(oldest[0])
      this.gone.set(oldest[0], oldest[1])
    }
  }

  get(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    if (e.expiresAt <= now) {
      this.entries.delete(key)
      this.gone.set(key, e)
      return undefined
    }
    return e
  }

  set(key: string, entry: Entry): void {
    const old = this.entries.peek(key)
    // an entry readable earlier and living longer already covers this write
    const keep = old !== undefined && old.readableAt <= entry.readableAt && old.expiresAt >= entry.expiresAt
    this.entries.set(key, keep ? old : entry)
    this.gone.delete(key)
    this.sweep(entry.readableAt)
  }
}

/** a request's writes are under way (until its response begins, or it fails): call `done` once */
export const writing = (store: CacheStore, p: CachePlan): { readonly done: () => void } => {
  for (const w of p.writes) store.writing.set(w.key, (store.writing.get(w.key) ?? 0) + 1)
  let open = true
  return {
    done: () => {
      if (!open) return
      open = false
      for (const w of p.writes) {
        const n = (store.writing.get(w.key) ?? 1) - 1
        if (n <= 0) store.writing.delete(w.key)
        else store.writing.set(w.key, n)
      }
    }
  }
}

/**
 * Why the simulator wrote what it wrote, from its own store (the truth the library's local
 * classifier, MissDiagnosis, is tested against): `uncached` is a prefix it never held — first sight,
 * or a change, which the API's `diagnostics` names.
 */
export type StoreMissReason = "concurrent_writer" | "ttl_expired" | "evicted" | "lookback" | "uncached"

/** tokens written by reason */
export interface StoreMiss {
  readonly reason: StoreMissReason
  readonly tokens: number
}

/**
 * The reasons of a plan's writes, read before the plan is committed: for each written segment, the
 * entry of its breakpoint (not yet readable: a writer not begun; gone: expired or evicted), or a
 * longer prefix held out of the lookback's reach.
 */
export const diagnose = (
  store: CacheStore,
  all: ReadonlyArray<Position>,
  bps: ReadonlyArray<Breakpoint>,
  p: CachePlan,
  now: number,
  lookback: number,
  namespace = ""
): ReadonlyArray<StoreMiss> => {
  if (p.writes.length === 0) return []
  const written = new Set(p.writes.map((w) => w.key))
  const out = new Map<StoreMissReason, number>()
  const add = (reason: StoreMissReason, tokens: number) => tokens > 0 && out.set(reason, (out.get(reason) ?? 0) + tokens)
  let boundary = p.usage.cacheRead
  let boundaryIndex = p.hit === undefined ? -1 : all.findIndex((q) => namespace + q.fingerprint === p.hit)
  for (const bp of bps) {
    const key = namespace + bp.position.fingerprint
    if (!written.has(key)) continue
    const tokens = bp.position.cumulativeTokens - boundary
    const live = store.entries.peek(key)
    const gone = store.gone.peek(key)
    if ((store.writing.get(key) ?? 0) > 0 || (live !== undefined && live.readableAt > now && live.expiresAt > now)) {
      add("concurrent_writer", tokens)
    }
    else if (gone !== undefined) add(gone.expiresAt <= now ? "ttl_expired" : "evicted", tokens)
    else {
      let held = -1
      for (let i = bp.position.index - lookback; i > boundaryIndex; i--) {
        const e = store.entries.peek(namespace + all[i]!.fingerprint)
        if (e !== undefined && e.readableAt <= now && e.expiresAt > now) {
          held = i
          break
        }
      }
      if (held >= 0) {
        add("lookback", all[held]!.cumulativeTokens - boundary)
        add("uncached", bp.position.cumulativeTokens - all[held]!.cumulativeTokens)
      } else add("uncached", tokens)
    }
    boundary = bp.position.cumulativeTokens
    boundaryIndex = bp.position.index
  }
  return [...out].map(([reason, tokens]) => ({ reason, tokens }))
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
