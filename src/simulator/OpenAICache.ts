/**
 * OpenAI's prompt cache as the simulator models it (docs/openai.md says where each rule comes from and
 * which are assumptions):
 *
 * - routing: a request goes to the machine of its bucket — a hash of the prompt's first tokens (about
 *   256) and its `prompt_cache_key`; a bucket serves `routingLimitPerMinute` requests in any minute
 *   (about 15), and the ones over it overflow to a machine that holds nothing for them: they read
 *   nothing and what they write is not kept. Each bucket's machine has its own entries.
 * - `openai-automatic` (before GPT-5.6): a prompt of ≥ 1,024 tokens is cached whole; a later prompt on
 *   the same machine reads the longest cached prefix it shares, at block boundaries, rounded down to
 *   1,024 + a multiple of 128 tokens; writes are free and not reported; entries live
 *   `automaticIdleMs` after their last use (5 min; `24h` retention: a day).
 * - `openai-breakpoints` (GPT-5.6 and later): entries are written only at breakpoints — the implicit
 *   one at the latest message (unless `prompt_cache_options.mode` is `explicit`) and the latest three
 *   explicit ones (four in explicit mode), at least 1,024 tokens long; a request reads the longest
 *   written prefix it shares; writes are billed and reported; entries live `breakpointTtlMs` (30 min)
 *   after their last use.
 */
import { createHash } from "node:crypto"
import { LruMap } from "../internal/lru.js"
import type { Position } from "../Prefix.js"
import type { Caching } from "../Pricing.js"
import type { MessagesRequest } from "../Prompt.js"
import type { CachePlan, CacheStore, Write } from "./CacheStore.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface OpenAICacheConfig {
  /** requests a minute one bucket serves before the rest overflow (default 15; `Infinity`: never) */
  readonly routingLimitPerMinute?: number | undefined
  /** tokens of the prompt's start that route it (default 256) */
  readonly routingPrefixTokens?: number | undefined
  /** idle life of an entry before GPT-5.6, in-memory retention (default 300,000 ms) */
  readonly automaticIdleMs?: number | undefined
  /** idle life of a GPT-5.6 breakpoint entry (default 1,800,000 ms: the 30m TTL) */
  readonly breakpointTtlMs?: number | undefined
  /**
   * when a written entry becomes readable by other requests: when the writer's response begins (the
   * default, as on Anthropic — OpenAI's docs do not say), or as soon as the writer is received
   */
  readonly readableWhen?: "response-begun" | "request-received" | undefined
}

const MINUTE_MS = 60_000
const DAY_MS = 86_400_000

/** the bucket of a request: its first ~256 tokens and its key */
export const bucketOf = (all: ReadonlyArray<Position>, key: string | undefined, routingTokens: number): string => {
  const start = all.find((p) => p.cumulativeTokens >= routingTokens) ?? all[all.length - 1]
  return createHash("sha256").update(start?.fingerprint ?? "").update("\u0000").update(key ?? "").digest("hex").slice(0, 32)
}

/** requests each bucket's machine served over the last minute: whether it serves one more */
export class Router {
  private readonly arrivals = new LruMap<string, Array<number>>(100_000)
  constructor(private readonly limitPerMinute: number) {}

  /** `true` when the bucket's machine serves the request, `false` when it overflows */
  route(bucket: string, now: number): boolean {
    let times = this.arrivals.get(bucket)
    if (times === undefined) {
      times = []
      this.arrivals.set(bucket, times)
    }
    let drop = 0
    while (drop < times.length && times[drop]! <= now - MINUTE_MS) drop++
    if (drop > 0) times.splice(0, drop)
    // the machine takes `limitPerMinute` in any minute; the rest go elsewhere and do not count here
    if (times.length >= this.limitPerMinute) return false
    times.push(now)
    return true
  }
}

const field = (request: MessagesRequest, name: string): unknown => (request as Record<string, unknown>)[name]

/** `1,024 + 128·k`: the cached length OpenAI reports before GPT-5.6 */
const roundDown = (tokens: number, min: number): number => (tokens < min ? 0 : min + Math.floor((tokens - min) / 128) * 128)

const none = (total: number): CachePlan => ({
  usage: { input: total, cacheCreation5m: 0, cacheCreation1h: 0, cacheRead: 0 },
  hit: undefined,
  writes: []
})

/** the longest prefix with an entry readable at `now` on `machine` */
const longestHit = (
  store: CacheStore,
  all: ReadonlyArray<Position>,
  machine: string,
  now: number,
  min: number
): Position | undefined => {
  for (let i = all.length - 1; i >= 0; i--) {
    const p = all[i]!
    if (p.cumulativeTokens < min) return undefined
    const entry = store.get(`${machine}:${p.fingerprint}`, now)
    if (entry !== undefined && entry.readableAt <= now) return p
  }
  return undefined
}

/** the breakpoints a GPT-5.6 request writes: the implicit one and the latest explicit ones */
const writtenBreakpoints = (all: ReadonlyArray<Position>, request: MessagesRequest): ReadonlyArray<Position> => {
  // tool definitions carry no part, so no breakpoint, on OpenAI
  const explicit = all.filter((p) => p.cacheControl !== undefined && p.section !== "tools")
  const options = field(request, "prompt_cache_options") as { readonly mode?: unknown } | undefined
  if (options?.mode === "explicit") return explicit.slice(-4)
  let implicit: Position | undefined
  for (let i = all.length - 1; i >= 0; i--) {
    if (all[i]!.cacheable) {
      implicit = all[i]
      break
    }
  }
  const written = explicit.slice(-3)
  if (implicit !== undefined && !written.includes(implicit)) written.push(implicit)
  return written.sort((a, b) => a.index - b.index)
}

/**
 * What a request to an OpenAI model reads and writes. `machine` is its bucket's, or `undefined` when
 * it overflowed (nothing read, nothing kept).
 */
export const plan = (
  store: CacheStore,
  all: ReadonlyArray<Position>,
  request: MessagesRequest,
  now: number,
  caching: Exclude<Caching, "anthropic">,
  min: number,
  machine: string | undefined,
  config: OpenAICacheConfig
): CachePlan => {
  const total = all.length === 0 ? 0 : all[all.length - 1]!.cumulativeTokens
  if (total < min) return none(total)
  const hit = machine === undefined ? undefined : longestHit(store, all, machine, now, min)
  if (caching === "openai-automatic") {
    const read = roundDown(hit?.cumulativeTokens ?? 0, min)
    const ttlMs = field(request, "prompt_cache_retention") === "24h" ? DAY_MS : config.automaticIdleMs ?? 300_000
    const writes: Array<Write> = []
    if (machine !== undefined) {
      // every block boundary of the prompt becomes readable: a later prompt may share any prefix of it
      for (const p of all) {
        if (p.cumulativeTokens >= min && (hit === undefined || p.index > hit.index)) {
          writes.push({ key: `${machine}:${p.fingerprint}`, tokens: p.cumulativeTokens, ttlMs })
        }
      }
    }
    return {
      usage: { input: total - read, cacheCreation5m: 0, cacheCreation1h: 0, cacheRead: read },
      hit: hit === undefined ? undefined : `${machine}:${hit.fingerprint}`,
      writes,
      refreshes: hit === undefined ? [] : all.filter((p) => p.cumulativeTokens >= min && p.index < hit.index).map((p) => `${machine}:${p.fingerprint}`)
    }
  }
  const read = hit?.cumulativeTokens ?? 0
  const ttlMs = config.breakpointTtlMs ?? 1_800_000
  let boundary = read
  let written = 0
  const writes: Array<Write> = []
  for (const p of writtenBreakpoints(all, request)) {
    if (p.cumulativeTokens < min || p.cumulativeTokens <= read) continue
    written += p.cumulativeTokens - boundary
    boundary = p.cumulativeTokens
    if (machine !== undefined) writes.push({ key: `${machine}:${p.fingerprint}`, tokens: p.cumulativeTokens, ttlMs })
  }
  return {
    usage: { input: total - boundary, cacheCreation5m: written, cacheCreation1h: 0, cacheRead: read },
    hit: hit === undefined ? undefined : `${machine}:${hit.fingerprint}`,
    writes
  }
}
