/**
 * `prompt_cache_key` management. OpenAI routes a request to a machine by a hash of its prompt's first
 * tokens and its `prompt_cache_key`; above about 15 requests a minute for one (prefix, key), requests
 * overflow to other machines and miss (docs/openai.md). So:
 *
 * - every request of one shared prefix gets the same key, derived from the prefix's fingerprint (the
 *   first breakpoint's: what the requests share), so they all route to the machine that holds it;
 * - when one prefix's rate would pass the per-key limit, the key is sharded (`…-1`, `…-2`): each shard
 *   is its own bucket, kept under the limit, so a hot prefix keeps hitting, at the price of one write
 *   per shard.
 *
 * Shards fill in order (shard 0 up to the target rate, then shard 1, …), over a sliding minute of this
 * process's own requests; a shard whose minute is empty is free again. Pure state over the caller's
 * clock reading: no I/O, no timers.
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
  /** the share of that limit a shard is filled to (default 0.8: 12 a minute) */
  readonly headroom?: number | undefined
  /** the most shards of one prefix (default 16) */
  readonly maxShards?: number | undefined
  /** prefixes tracked at once, the least recently used dropped first (default 10,000) */
  readonly maxPrefixes?: number | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface PromptCacheKeys {
  /** the key for one request of the prefix `fingerprint`, sent at `now` (ms) */
  readonly keyFor: (fingerprint: string, now: number) => string
  /** shards in use per prefix (for tests and reports) */
  readonly shardsOf: (fingerprint: string, now: number) => number
}

const WINDOW_MS = 60_000

/**
 * The key of a prefix's shard: `epc-` and 24 hex digits of its fingerprint (a digest, never prompt
 * text), then `-<shard>` past the first.
 *
 * @since 0.2.0
 * @category utils
 */
export const keyOf = (fingerprint: string, shard: number): string =>
  `epc-${fingerprint.slice(0, 24)}${shard === 0 ? "" : `-${shard}`}`

/**
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: ShardingOptions = {}): PromptCacheKeys => {
  const target = Math.max(1, Math.floor((options.perKeyPerMinute ?? 15) * (options.headroom ?? 0.8)))
  const maxShards = options.maxShards ?? 16
  const maxPrefixes = options.maxPrefixes ?? 10_000
  // per prefix, per shard: the send times of the last minute, oldest first
  const windows = new Map<string, Array<Array<number>>>()

  const prune = (shards: Array<Array<number>>, now: number) => {
    for (const times of shards) {
      let drop = 0
      while (drop < times.length && times[drop]! <= now - WINDOW_MS) drop++
      if (drop > 0) times.splice(0, drop)
    }
  }

  const shardsFor = (fingerprint: string, now: number): Array<Array<number>> => {
    let shards = windows.get(fingerprint)
    if (shards === undefined) {
      if (windows.size >= maxPrefixes) windows.delete(windows.keys().next().value!)
      shards = []
      windows.set(fingerprint, shards)
    } else {
      // most recently used last
      windows.delete(fingerprint)
      windows.set(fingerprint, shards)
    }
    prune(shards, now)
    return shards
  }

  return {
    keyFor: (fingerprint, now) => {
      const shards = shardsFor(fingerprint, now)
      let shard = shards.findIndex((times) => times.length < target)
      if (shard < 0) {
        if (shards.length < maxShards) {
          shards.push([])
          shard = shards.length - 1
        } else {
          // every shard full: the least loaded one
          shard = shards.reduce((best, times, i) => (times.length < shards[best]!.length ? i : best), 0)
        }
      }
      shards[shard]!.push(now)
      return keyOf(fingerprint, shard)
    },
    shardsOf: (fingerprint, now) => {
      const shards = windows.get(fingerprint)
      if (shards === undefined) return 0
      prune(shards, now)
      return shards.filter((times) => times.length > 0).length
    }
  }
}
