/**
 * Runs an effect on a virtual clock: every `Effect.sleep` (the simulator's latency model, idle gaps,
 * retry back-off) completes as soon as nothing else can run, in time order, so a workload that would
 * take minutes of provider time finishes in a moment of wall time. Time read from `Clock` inside is
 * the simulated time.
 *
 * Only for effects that wait on nothing but the clock (the simulator, not a real network).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"

/**
 * @since 0.1.0
 * @category running
 */
export const run = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    // the virtual clock is installed in a child fiber, whose services are not inherited back: after
    // this returns, the caller's clock is the real one again (Fiber.join would inherit them)
    const driver = yield* Effect.fork(
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(effect)
        while (Option.isNone(yield* Fiber.poll(fiber))) {
          yield* TestClock.adjust(Duration.hours(1))
        }
        return yield* Fiber.join(fiber)
      }).pipe(Effect.provide(TestContext.TestContext))
    )
    return yield* Effect.flatten(Fiber.await(driver))
  })
