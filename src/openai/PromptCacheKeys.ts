/**
 * `prompt_cache_key` management. OpenAI routes a request to a machine by a hash of its prompt's first
 * tokens and its `prompt_cache_key`; above about 15 requests a minute for one (prefix, key), requests
 * overflow to other machines and miss (docs/openai.md). So:
 *
 * - every request of one shared prefix gets the same key, derived from the prefix's fingerprint (the
 *   first breakpoint's: what the requests share), so they all route to the machine that holds it;
 * - when one prefix's rate would pass the per-key limit, the key is sharded (`…-1`, `…-2`): each shard
 *   is its own bucket, kept under the limit, so a hot prefix keeps hitting, at the price of one write
 *   per shard;
 * - a request goes back to the shard that already holds the longest of its prefixes (a conversation
 *   stays where it was written, a fan-out stays together) while that shard is under the limit; a
 *   request that shares only the key's own prefix fills the shards in order, up to the target rate;
 * - a new shard is opened by one request, and for `warmupMs` after that the others use the headroom
 *   of the warm shards (up to the limit) instead of piling onto the cold one: a shard is established
 *   once, not by a burst — the warmer's single flight, one level down.
 *
 * Over a sliding minute of this process's own requests; a shard whose minute is empty is free again.
 * Pure state over the caller's clock reading: no I/O, no timers.
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 * @category models
 */
export interface ShardingOptions {
  /** requests per minute one (prefix, key) takes before it overflows (OpenAI: about 15) */
  readonly perKeyPerMinute?: number | undefined
  /** the share of that limit a shard is filled to by requests that could go anywhere (default 0.8) */
  readonly headroom?: number | undefined
  /** the most shards of one prefix (default 16) */
  readonly maxShards?: number | undefined
  /** prefixes tracked at once, the least recently used dropped first (default 10,000) */
  readonly maxPrefixes?: number | undefined
  /** how long a shard is assumed to hold a prefix it was sent (default 300,000 ms: OpenAI's shortest idle life) */
  readonly holdMs?: number | undefined
  /** how long a new shard's first request is left alone to write it (default 10,000 ms) */
  readonly warmupMs?: number | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface PromptCacheKeys {
  /**
   * the key for one request sent at `now` (ms), given the fingerprints of its breakpoint prefixes,
   * shortest first: the first names the key, the others say which shard holds the request's context
   */
  readonly keyFor: (fingerprints: ReadonlyArray<string>, now: number) => string
  /** shards in use for the key of `fingerprint` (for tests and reports) */
  readonly shardsOf: (fingerprint: string, now: number) => number
}

const WINDOW_MS = 60_000
const SEEN_PER_SHARD = 256

interface Shard {
  readonly openedAt: number
  /** send times of the last minute, oldest first */
  readonly times: Array<number>
  /** prefixes sent here, with when (insertion order: oldest first) */
  readonly seen: Map<string, number>
}

/**
 * The key of a prefix's shard: `epc-` and 24 hex digits of its fingerprint (a digest, never prompt
 * text), then `-<shard>` past the first.
 *
 * @since 0.2.0
 * @category utils
 */
export const keyOf = (fingerprint: string, shard: number): string =>
  `epc-${fingerprint.slice(0, 24)}${shard === 0 ? "" : `-${shard}`}`

const prune = (shard: Shard, now: number) => {
  let drop = 0
  while (drop < shard.times.length && shard.times[drop]! <= now - WINDOW_MS) drop++
  if (drop > 0) shard.times.splice(0, drop)
}

/** how many of the request's prefixes, from the shortest, the shard holds */
const matched = (shard: Shard, fingerprints: ReadonlyArray<string>, now: number, holdMs: number): number => {
  let longest = 0
  for (let i = 0; i < fingerprints.length; i++) {
    const at = shard.seen.get(fingerprints[i]!)
    if (at !== undefined && at > now - holdMs) longest = i + 1
  }
  return longest
}

const remember = (shard: Shard, fingerprints: ReadonlyArray<string>, now: number) => {
  shard.times.push(now)
  for (const fp of fingerprints) {
    shard.seen.delete(fp)
    shard.seen.set(fp, now)
  }
  while (shard.seen.size > SEEN_PER_SHARD) shard.seen.delete(shard.seen.keys().next().value!)
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: ShardingOptions = {}): PromptCacheKeys => {
  const limit = Math.max(1, options.perKeyPerMinute ?? 15)
  const target = Math.max(1, Math.floor(limit * (options.headroom ?? 0.8)))
  const maxShards = options.maxShards ?? 16
  const maxPrefixes = options.maxPrefixes ?? 10_000
  const holdMs = options.holdMs ?? 300_000
  const warmupMs = options.warmupMs ?? 10_000
  /** opened by one request a moment ago: its prefix is being written */
  const warming = (s: Shard, now: number) => s.times.length <= 1 && now - s.openedAt < warmupMs
  const prefixes = new Map<string, Array<Shard>>()

  const shardsFor = (fingerprint: string, now: number): Array<Shard> => {
    let shards = prefixes.get(fingerprint)
    if (shards === undefined) {
      if (prefixes.size >= maxPrefixes) prefixes.delete(prefixes.keys().next().value!)
      shards = []
    } else prefixes.delete(fingerprint)
    prefixes.set(fingerprint, shards) // most recently used last
    for (const s of shards) prune(s, now)
    return shards
  }

  const choose = (shards: Array<Shard>, fingerprints: ReadonlyArray<string>, now: number): number => {
    // the shard holding the most of this request's context, while it is under the limit
    let best = -1
    let bestMatch = 1
    for (let i = 0; i < shards.length; i++) {
      const s = shards[i]!
      if (s.times.length >= limit) continue
      const m = matched(s, fingerprints, now, holdMs)
      if (m > bestMatch || (m === bestMatch && best >= 0 && m > 1 && s.times.length < shards[best]!.times.length)) {
        best = i
        bestMatch = m
      }
    }
    if (best >= 0) return best
    // nothing beyond the key's own prefix to follow: fill the warm shards in order up to the target
    const open = shards.findIndex((s) => s.times.length < target && !warming(s, now))
    if (open >= 0) return open
    // a shard being established: the warm ones take the request in their headroom meanwhile
    if (shards.some((s) => warming(s, now))) {
      const spare = shards.findIndex((s) => s.times.length < limit && !warming(s, now))
      if (spare >= 0) return spare
    } else if (shards.length < maxShards) {
      shards.push({ openedAt: now, times: [], seen: new Map() })
      return shards.length - 1
    }
    return shards.reduce((low, s, i) => (s.times.length < shards[low]!.times.length ? i : low), 0)
  }

  return {
    keyFor: (fingerprints, now) => {
      const base = fingerprints[0]!
      const shards = shardsFor(base, now)
      const shard = choose(shards, fingerprints, now)
      remember(shards[shard]!, fingerprints, now)
      return keyOf(base, shard)
    },
    shardsOf: (fingerprint, now) => {
      const shards = prefixes.get(fingerprint)
      if (shards === undefined) return 0
      for (const s of shards) prune(s, now)
      return shards.filter((s) => s.times.length > 0).length
    }
  }
}
