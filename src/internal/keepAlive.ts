/**
 * Keep-alive: refresh a prefix with steady traffic shortly before its TTL ends.
 *
 * A refresh costs a read of the prefix; a miss costs a rewrite. With `λ` the observed request rate
 * (from the mean gap between recent requests, or the time since the last one, whichever is longer),
 * the chance of another request within the TTL is `p = 1 − exp(−TTL·λ)`; a refresh is sent when
 * `p × (write − read) > read`, i.e. when it is expected to pay, and at most `maxIdleRefreshes` times in
 * a row without a real request in between. It stops when traffic stops, or when the conversation
 * the prefix belongs to ends (`release`: the Pipeline's `forget`). One fiber per prefix with traffic,
 * in the scope of {@link make}.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { WarmRegistryService } from "../WarmRegistry.js"

/** @internal */
export interface KeepAliveSettings {
  /** refresh this long before the entry would expire */
  readonly leadMs: number
  /** refreshes in a row with no request in between */
  readonly maxIdleRefreshes: number
}

/** @internal */
export interface KeepAlive<W> {
  /**
   * a request over `warm`'s prefix, keyed by its last cacheable breakpoint, has just been sent; a
   * refresh pays when the chance of another request within the TTL exceeds `breakEven` (the read
   * price over the write price less a read, at the entry's TTL and the model's multipliers)
   */
  readonly track: (key: string, ttlMs: number, breakEven: number, warm: W) => Effect.Effect<void>
  /**
   * the conversation the prefix `key` ends has ended: no more refreshes for it (a later request over
   * the same prefix tracks it afresh)
   */
  readonly release: (key: string) => Effect.Effect<void>
  /** prefixes being kept alive */
  readonly size: () => number
}

interface State<W> {
  readonly arrivals: Array<number>
  idleRefreshes: number
  running: boolean
  /** released: the loop stops the next time it wakes */
  released: boolean
  warm: W
  ttlMs: number
  breakEven: number
}

/**
 * A sleep of at least a whole millisecond: `Duration` rounds a fraction to whole nanoseconds, so a
 * gap left by floating-point times (1e-10 ms) would be a sleep of zero, and a loop waiting for the
 * clock to pass a moment would spin at that instant.
 */
const sleepAtLeastMs = (ms: number) => Effect.sleep(Duration.millis(Math.max(1, Math.ceil(ms))))

/**
 * @param refresh a warm call over the prefix; `false` when it failed (the loop then stops)
 * @internal
 */
export const make = <W>(
  settings: KeepAliveSettings,
  registry: WarmRegistryService,
  refresh: (warm: W) => Effect.Effect<boolean>
): Effect.Effect<KeepAlive<W>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const states = new Map<string, State<W>>()

    const loop = (key: string, state: State<W>) =>
      Effect.gen(function*() {
        while (true) {
          if (state.released) return
          const until = yield* registry.warmUntil(key)
          if (Option.isNone(until)) return
          const now = yield* Clock.currentTimeMillis
          if (until.value - now > settings.leadMs) {
            yield* sleepAtLeastMs(until.value - now - settings.leadMs)
            continue
          }
          const arrivals = state.arrivals
          const last = arrivals[arrivals.length - 1] ?? now
          const meanGap = arrivals.length >= 2 ? (last - arrivals[0]!) / (arrivals.length - 1) : state.ttlMs
          // a request is due before the entry expires: it will refresh the entry itself; look again
          // at the last moment
          const lastMoment = until.value - 1_000
          if (now < lastMoment && last + meanGap < until.value) {
            yield* sleepAtLeastMs(lastMoment - now)
            continue
          }
          if (state.released) return
          const gap = Math.max(meanGap, now - last, 1)
          const p = 1 - Math.exp(-state.ttlMs / gap)
          if (p <= state.breakEven || state.idleRefreshes >= settings.maxIdleRefreshes) return
          state.idleRefreshes++
          if (!(yield* refresh(state.warm))) return
        }
      }).pipe(Effect.ensuring(Effect.sync(() => {
        state.running = false
        if (states.get(key) === state) states.delete(key)
      })))

    const track = (key: string, ttlMs: number, breakEven: number, warm: W): Effect.Effect<void> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const state: State<W> = states.get(key) ??
          { arrivals: [], idleRefreshes: 0, running: false, released: false, warm, ttlMs, breakEven }
        state.arrivals.push(now)
        if (state.arrivals.length > 8) state.arrivals.shift()
        state.idleRefreshes = 0
        state.warm = warm
        states.set(key, state)
        if (!state.running) {
          state.running = true
          yield* Effect.forkIn(Effect.interruptible(loop(key, state)), scope)
        }
      })

    const release = (key: string): Effect.Effect<void> =>
      Effect.sync(() => {
        const state = states.get(key)
        if (state === undefined) return
        state.released = true
        states.delete(key)
      })

    return { track, release, size: () => states.size }
  })
