/**
 * The warmer's per-prefix gates and their watchdog.
 *
 * A gate is opened by the caller that leads the establishing of a set of cold keys; callers that need
 * one of those keys while it is open wait on it. The check of the table and the opening of a gate are
 * one synchronous step ({@link GateTable.decide}), so two callers can never both lead one key. A gate
 * is released with its outcome: `ready` (the prefix is readable), `failed` (go uncached) or
 * `abandoned` (the leader was interrupted: decide again).
 *
 * One watchdog fiber for all gates (not a timer per waiter, nor a fiber per gate) releases a gate
 * `failed` after `maxWaitMs` at the latest. Every gate gets the same wait, so deadlines come in the
 * order the gates were opened and one fiber takes them in turn; releasing a gate already released does
 * nothing. The watchdog lives in the scope of {@link make}.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"

/** @internal */
export type GateOutcome = "ready" | "failed" | "abandoned"

/** @internal */
export type Gate = Deferred.Deferred<GateOutcome>

/** @internal */
export type Decision =
  | { readonly _tag: "Direct" }
  | { readonly _tag: "Wait"; readonly gate: Gate }
  | { readonly _tag: "Lead"; readonly keys: ReadonlyArray<string>; readonly gate: Gate }

/** @internal */
export interface GateTable {
  /**
   * With `cold` the keys of the request's cold prefixes, shortest first: nothing cold → `Direct`;
   * a key someone is establishing (the longest first) → `Wait` on its gate; else `Lead` a new gate
   * over every cold key. Synchronous: no other fiber runs between the check and the opening.
   */
  readonly decide: (cold: ReadonlyArray<string>) => Decision
  /** removes the gate's keys first, so that woken waiters see the new state, then completes it */
  readonly release: (keys: ReadonlyArray<string>, gate: Gate, outcome: GateOutcome) => Effect.Effect<boolean>
  /** keys with an open gate */
  readonly size: () => number
}

const DIRECT: Decision = { _tag: "Direct" }

/** @internal */
export const make = (maxWaitMs: number): Effect.Effect<GateTable, never, Scope.Scope> =>
  Effect.gen(function*() {
    // deadlines are set and kept on the clock of the table's own scope (the watchdog's), whatever
    // clock the callers run on: a table built on the real clock and used under a virtual one (or the
    // other way round) still waits maxWaitMs of its own time
    const clock = yield* Effect.clock
    const gates = new Map<string, Gate>()
    const deadlines = yield* Queue.unbounded<{ readonly at: number; readonly keys: ReadonlyArray<string>; readonly gate: Gate }>()

    const release = (keys: ReadonlyArray<string>, gate: Gate, outcome: GateOutcome) =>
      Effect.suspend(() => {
        for (const k of keys) if (gates.get(k) === gate) gates.delete(k)
        return Deferred.succeed(gate, outcome)
      })

    yield* Effect.forkScoped(
      Effect.forever(Effect.gen(function*() {
        const next = yield* Queue.take(deadlines)
        const now = yield* Clock.currentTimeMillis
        if (next.at > now) yield* Effect.sleep(Duration.millis(next.at - now))
        yield* release(next.keys, next.gate, "failed")
      })).pipe(
        // the table may be built in an uninterruptible region: its watchdog must still close with the scope
        Effect.interruptible
      )
    )

    const decide = (cold: ReadonlyArray<string>): Decision => {
      if (cold.length === 0) return DIRECT
      for (let i = cold.length - 1; i >= 0; i--) {
        const active = gates.get(cold[i]!)
        if (active !== undefined) return { _tag: "Wait", gate: active }
      }
      const gate = Deferred.unsafeMake<GateOutcome>(FiberId.none)
      for (const k of cold) gates.set(k, gate)
      deadlines.unsafeOffer({ at: clock.unsafeCurrentTimeMillis() + maxWaitMs, keys: cold, gate })
      return { _tag: "Lead", keys: cold, gate }
    }

    return { decide, release, size: () => gates.size }
  })
