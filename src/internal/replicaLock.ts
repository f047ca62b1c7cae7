/**
 * Leading across replicas. With a shared {@link PrefixLockService} (Redis), the local leader also
 * needs the establishing lock of each of its cold keys, shortest prefix first. A key whose lock
 * another replica holds is waited for by polling the shared registry with back-off until it is warm
 * (then it needs no lock), its lock is free (then it is taken), or `maxWaitMs` has passed (then the
 * leader goes ahead without it). Every lock taken is released when the lead ends, however it ends.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { PrefixLockService } from "../PrefixLock.js"
import type { WarmRegistryService } from "../WarmRegistry.js"
import { isWarm } from "../WarmRegistry.js"

/** @internal */
export interface ReplicaLockOptions {
  readonly lock: PrefixLockService
  readonly registry: WarmRegistryService
  readonly maxWaitMs: number
  /** how long a lock lives if its owner dies */
  readonly lockTtlMs: number
}

/** @internal */
export const make = (options: ReplicaLockOptions) =>
<A, E>(keys: ReadonlyArray<string>, lead: Effect.Effect<A, E>): Effect.Effect<A, E> => {
  const { lock, registry, maxWaitMs, lockTtlMs } = options
  if (!lock.shared) return lead
  const held: Array<readonly [string, string]> = []
  const releaseHeld = Effect.suspend(() =>
    Effect.forEach(held.splice(0), ([key, token]) => lock.release(key, token), { discard: true })
  )
  const acquireAll = Effect.gen(function*() {
    const deadline = (yield* Clock.currentTimeMillis) + maxWaitMs
    for (const key of keys) {
      let delay = 10
      while (true) {
        const token = yield* lock.acquire(key, lockTtlMs)
        if (Option.isSome(token)) {
          held.push([key, token.value])
          break
        }
        if (yield* isWarm(registry, key, 0)) break
        const now = yield* Clock.currentTimeMillis
        if (now >= deadline) return
        yield* Effect.sleep(Duration.millis(Math.min(delay, deadline - now)))
        delay = Math.min(delay * 2, 500)
      }
    }
  })
  return Effect.zipRight(acquireAll, lead).pipe(Effect.ensuring(releaseHeld))
}
