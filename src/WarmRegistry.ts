/**
 * Which prefixes are known to be warm, and until when: fingerprint → known-warm-until (epoch ms),
 * updated from every observed usage. A write or a read at a prefix starts or refreshes its TTL; a
 * miss where a hit was expected clears it.
 *
 * The service interface makes no in-memory assumption, so a shared store (several processes) can
 * implement it. The default layer is in memory, bounded in size (least recently used out first) and
 * drops expired entries.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { PlannedBreakpoint } from "./BreakpointPlanner.js"
import { LruMap } from "./internal/lru.js"
import { ttlMillis } from "./Prompt.js"
import type { Usage } from "./Response.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface WarmRegistryService {
  /** until when the prefix is known warm (epoch ms), if it is */
  readonly warmUntil: (fingerprint: string) => Effect.Effect<Option.Option<number>>
  /** record that the prefix is warm until `until` (never shortens a later known expiry) */
  readonly markWarm: (fingerprint: string, until: number) => Effect.Effect<void>
  readonly markCold: (fingerprint: string) => Effect.Effect<void>
  /** live entries */
  readonly size: Effect.Effect<number>
  /**
   * Optional, for registries held in this process: `warmUntil` read synchronously at `now` (epoch
   * ms), `undefined` when not known warm. With it the warmer reads the registry inside its one-step
   * decision, and {@link isWarm} needs no effect of the registry's.
   */
  readonly unsafeWarmUntil?: ((fingerprint: string, now: number) => number | undefined) | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class WarmRegistry extends Context.Tag("effect-prompt-cache/WarmRegistry")<WarmRegistry, WarmRegistryService>() {}

/**
 * @since 0.1.0
 * @category utils
 */
export { ttlMillis } from "./Prompt.js"

/**
 * Whether the prefix will still be warm `marginMs` from now (default 5 s: a request sent now must
 * arrive before the entry expires).
 *
 * @since 0.1.0
 * @category utils
 */
export const isWarm = (registry: WarmRegistryService, fingerprint: string, marginMs = 5_000): Effect.Effect<boolean> =>
  Effect.clockWith((clock) => {
    const view = registry.unsafeWarmUntil
    if (view !== undefined) {
      const now = clock.unsafeCurrentTimeMillis()
      return Effect.succeed(warmAt(view(fingerprint, now), now, marginMs))
    }
    return Effect.map(
      registry.warmUntil(fingerprint),
      (until) => warmAt(Option.getOrUndefined(until), clock.unsafeCurrentTimeMillis(), marginMs)
    )
  })

/**
 * Whether an entry known warm until `until` (epoch ms; `undefined`: not known warm) is still warm
 * `marginMs` after `now`.
 *
 * @since 0.1.0
 * @category utils
 */
export const warmAt = (until: number | undefined, now: number, marginMs: number): boolean =>
  until !== undefined && until > now + marginMs

/**
 * Updates the registry from one call's usage. `sentAt` is when the request was sent: entries it
 * writes or reads expire no earlier than `sentAt + ttl`, so the estimate is conservative.
 *
 * - a breakpoint inside the written span `(read, read + write]` was written: warm;
 * - the breakpoint that ends exactly at `read` was read, which refreshes it: warm;
 * - a breakpoint beyond `read + write` is not cached (a miss where a hit may have been expected): cold.
 *
 * @since 0.1.0
 * @category utils
 */
export const observe = (
  registry: WarmRegistryService,
  planned: ReadonlyArray<Pick<PlannedBreakpoint, "fingerprint" | "ttl" | "cumulativeTokens">>,
  usage: Pick<Usage, "cacheRead" | "cacheCreation5m" | "cacheCreation1h">,
  sentAt: number
): Effect.Effect<void> => {
  const cached = usage.cacheRead + usage.cacheCreation5m + usage.cacheCreation1h
  // in order, as one chain of the updates there are (once per call: `Effect.forEach` costs the
  // runtime several steps more per call than the updates themselves)
  let updates: Effect.Effect<void> | undefined
  for (const bp of planned) {
    const written = bp.cumulativeTokens > usage.cacheRead
    const read = usage.cacheRead > 0 && bp.cumulativeTokens === usage.cacheRead
    const update = bp.cumulativeTokens > cached
      ? registry.markCold(bp.fingerprint)
      : written || read
      ? registry.markWarm(bp.fingerprint, sentAt + ttlMillis(bp.ttl))
      : undefined
    if (update !== undefined) updates = updates === undefined ? update : Effect.zipRight(updates, update)
  }
  return updates ?? Effect.void
}

/**
 * @since 0.1.0
 * @category options
 */
export interface MemoryOptions {
  /** bound on entries (default 10,000) */
  readonly maxEntries?: number | undefined
}

/**
 * An in-memory registry.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options: MemoryOptions = {}): Effect.Effect<WarmRegistryService> =>
  Effect.sync(() => {
    const entries = new LruMap<string, number>(options.maxEntries ?? 10_000)
    const unsafeWarmUntil = (fingerprint: string, now: number): number | undefined => {
      const until = entries.get(fingerprint)
      if (until === undefined) return undefined
      if (until <= now) {
        entries.delete(fingerprint)
        return undefined
      }
      return until
    }
    return {
      unsafeWarmUntil,
      warmUntil: (fingerprint) =>
        Effect.clockWith((clock) => Effect.sync(() => Option.fromNullable(unsafeWarmUntil(fingerprint, clock.unsafeCurrentTimeMillis())))),
      markWarm: (fingerprint, until) =>
        Effect.sync(() => entries.set(fingerprint, Math.max(until, entries.peek(fingerprint) ?? 0))),
      markCold: (fingerprint) => Effect.sync(() => void entries.delete(fingerprint)),
      size: Effect.map(Clock.currentTimeMillis, (now) => {
        for (const [key, until] of entries.entries()) if (until <= now) entries.delete(key)
        return entries.size
      })
    }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options: MemoryOptions = {}): Layer.Layer<WarmRegistry> =>
  Layer.effect(WarmRegistry, makeMemory(options))
