/**
 * A warm registry and an establishing lock shared by the replicas of one simulation, each operation a
 * simulated round trip: what Redis is to replicas in production, in virtual time, so that replica
 * counts and traffic no machine here could send can be measured (`bench --replicas`).
 *
 * @since 0.4.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PrefixLock from "../PrefixLock.js"
import * as WarmRegistry from "../WarmRegistry.js"

/**
 * @since 0.4.0
 * @category models
 */
export interface SharedRegistry {
  /** one replica's view: the shared entries and locks, each operation `latencyMs` away */
  readonly layer: Layer.Layer<WarmRegistry.WarmRegistry | PrefixLock.PrefixLock>
}

/**
 * A fresh shared registry (build it once, hand its `layer` to every replica's pipeline).
 *
 * @since 0.4.0
 * @category constructors
 */
export const make = (options: { readonly latencyMs: number; readonly maxEntries?: number | undefined }): Effect.Effect<SharedRegistry> =>
  Effect.map(WarmRegistry.makeMemory({ maxEntries: options.maxEntries ?? 100_000 }), (entries) => {
    const trip = <A, E, R>(op: Effect.Effect<A, E, R>) =>
      options.latencyMs > 0 ? Effect.zipRight(Effect.sleep(Duration.millis(options.latencyMs)), op) : op
    // no synchronous view: a shared registry is I/O, so the warmer reads it before its decision
    const registry: WarmRegistry.WarmRegistryService = {
      warmUntil: (fingerprint) => trip(entries.warmUntil(fingerprint)),
      markWarm: (fingerprint, until) => trip(entries.markWarm(fingerprint, until)),
      markCold: (fingerprint) => trip(entries.markCold(fingerprint)),
      size: entries.size
    }
    const locks = new Map<string, { readonly token: string; readonly until: number }>()
    let tokens = 0
    const lock: PrefixLock.PrefixLockService = {
      shared: true,
      acquire: (key, ttlMs) =>
        trip(Effect.clockWith((clock) =>
          Effect.sync(() => {
            const now = clock.unsafeCurrentTimeMillis()
            const held = locks.get(key)
            if (held !== undefined && held.until > now) return Option.none()
            const token = `t${tokens++}`
            locks.set(key, { token, until: now + ttlMs })
            return Option.some(token)
          })
        )),
      release: (key, token) =>
        trip(Effect.sync(() => {
          if (locks.get(key)?.token === token) locks.delete(key)
        }))
    }
    return {
      layer: Layer.merge(Layer.succeed(WarmRegistry.WarmRegistry, registry), Layer.succeed(PrefixLock.PrefixLock, lock))
    }
  })

