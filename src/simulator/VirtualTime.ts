/**
 * Runs an effect on a virtual clock: every `Effect.sleep` (the simulator's latency model, idle gaps,
 * retry back-off) completes as soon as nothing else can run, in time order, so a workload that would
 * take minutes of provider time finishes in a moment of wall time. Time read from `Clock` inside is
 * the simulated time, from 0.
 *
 * A discrete-event driver: the effect runs on a scheduler of its own, whose task queue the driver
 * empties synchronously; when it is empty every fiber is suspended, and the clock jumps to the next
 * sleeper's deadline and wakes it. No real timer is used per step (Effect's `TestClock`, which this
 * replaced, yields to the event loop on a timer at every instant it wakes — wall time grew with the
 * number of instants). Sleepers due at the same instant wake most recent first, one at a time, each
 * followed by everything it set running — the order `TestClock` wakes them in, so results are the
 * same, call for call ({@link runWithTestClock}; tests compare the two on every built-in workload).
 * When nothing is queued and nobody sleeps (a fiber waits on something outside: a layer built on the
 * real clock) the driver yields to the event loop, once, and looks again; and it yields every ~50 ms
 * of wall time, so that a long simulation still hears a signal and prints its progress.
 *
 * Only for effects that wait on nothing but the clock and each other (the simulator, not a network).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scheduler from "effect/Scheduler"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { Heap } from "../internal/heap.js"

/** wall time a drive runs before it yields to the event loop */
const SLICE_MS = 50

interface Sleeper {
  readonly deadline: number
  readonly seq: number
  readonly wake: () => void
}

/** earlier deadline first; at the same deadline, the later sleeper first (as TestClock) */
const before = (a: Sleeper, b: Sleeper) => a.deadline < b.deadline || (a.deadline === b.deadline && a.seq > b.seq)

/** The simulation's clock: time moves only when the driver moves it. */
class VirtualClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  now = 0
  private seq = 0
  readonly sleepers = new Heap<Sleeper>(before)
  unsafeCurrentTimeMillis(): number {
    return this.now
  }
  readonly currentTimeMillis = Effect.sync(() => this.now)
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(Math.round(this.now * 1_000_000))
  }
  readonly currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos())
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    const ms = Duration.toMillis(duration)
    if (!(ms > 0)) return Effect.void
    // no canceler: an interrupted sleep stays queued (the time still passes when its turn comes, as
    // TestClock's) and its wake-up reaches a fiber that has moved on, which ignores it. A canceler
    // would wrap every sleep in an interruption handler — a simulated call sleeps twice, a session
    // between turns, and each handler is several of the runtime's steps
    return Effect.async<void>((resume) => {
      // read at the sleep, not when it was built; a positive sleep always moves time, even one too
      // short for the clock's precision (a loop that sleeps until a moment a float away would
      // otherwise never let time pass)
      const deadline = Math.max(this.now + ms, this.now === 0 ? Number.MIN_VALUE : this.now * (1 + Number.EPSILON))
      this.sleepers.push({ deadline, seq: this.seq++, wake: () => resume(Effect.void) })
    })
  }
  /** wakes the next sleeper, moving the clock to its deadline; false when nobody sleeps (for ever) */
  advance(): boolean {
    const next = this.sleepers.peek()
    // a sleep for ever (an infinite duration) never ends, as under TestClock
    if (next === undefined || !Number.isFinite(next.deadline)) return false
    this.sleepers.pop()
    this.now = Math.max(this.now, next.deadline)
    next.wake()
    return true
  }
}

/**
 * @since 0.1.0
 * @category running
 */
export const run = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.runtime<R>(), (runtime) =>
    Effect.async<A, E>((resume) => {
      const clock = new VirtualClock()
      const tasks: Array<() => void> = []
      let head = 0
      const scheduler = Scheduler.make((task) => void tasks.push(task), Scheduler.defaultShouldYield)
      const fiber = Runtime.runFork(runtime)(effect.pipe(Effect.withClock(clock), Effect.withScheduler(scheduler)), { scheduler })
      let exit: Exit.Exit<A, E> | undefined
      const waiting: Array<() => void> = []
      fiber.addObserver((e) => {
        exit = e
      })
      let finished = false
      let scheduled = false
      const later = () => {
        if (scheduled) return
        scheduled = true
        setImmediate(() => {
          scheduled = false
          drive()
        })
      }
      const drive = () => {
        if (finished) return
        const slice = performance.now()
        for (let steps = 1;; steps++) {
          while (head < tasks.length) {
            tasks[head++]!()
            if (head > 4096) {
              tasks.splice(0, head)
              head = 0
            }
          }
          if (exit !== undefined) {
            finished = true
            resume(exit)
            for (const w of waiting.splice(0)) w()
            return
          }
          // a long simulation still lets the process breathe (a signal, a progress line, I/O) every
          // ~50 ms of wall time; the simulation itself waits for nothing outside meanwhile
          if (steps % 1024 === 0 && performance.now() - slice > SLICE_MS) return later()
          // every fiber here waits on something outside the simulation: let it happen
          if (!clock.advance()) return later()
        }
      }
      drive()
      return Effect.async<void>((done) => {
        if (exit !== undefined) return done(Effect.void)
        waiting.push(() => done(Effect.void))
        fiber.unsafeInterruptAsFork(FiberId.none)
        drive()
      })
    }))

/**
 * The driver `run` replaced, on Effect's `TestClock`: kept to check that the two agree.
 *
 * @since 0.4.0
 * @category running
 */
export const runWithTestClock = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
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
