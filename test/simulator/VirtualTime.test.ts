import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { multiUserDay } from "../../src/bench/BuiltinWorkloads.js"
import * as Runner from "../../src/bench/Runner.js"
import * as Workload from "../../src/bench/Workload.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as SimulatedPipeline from "../../src/simulator/SimulatedPipeline.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as VirtualTime from "../../src/simulator/VirtualTime.js"

describe("VirtualTime", () => {
  it.live("runs sleeps on a virtual clock and gives the caller its real clock back", () =>
    Effect.gen(function*() {
      const simulated = yield* VirtualTime.run(Effect.gen(function*() {
        const t0 = yield* Clock.currentTimeMillis
        yield* Effect.sleep("3 hours")
        return (yield* Clock.currentTimeMillis) - t0
      }))
      // three hours went by on the virtual clock (the test's own timeout says it was not real time)
      expect(simulated).toBe(3 * 3_600_000)
      // the caller's clock is the real one again: it reads the wall clock, not the virtual one (whose
      // epoch is 0)
      const now = yield* Clock.currentTimeMillis
      expect(now).toBeGreaterThan(Date.UTC(2020, 0, 1))
    }))
})

describe("VirtualTime, a long simulation", () => {
  it.live("lets the event loop turn while it runs: an endless one is interrupted from outside", () =>
    Effect.gen(function*() {
      let steps = 0
      const fiber = yield* Effect.fork(VirtualTime.run(Effect.forever(Effect.zipRight(Effect.sleep("1 second"), Effect.sync(() => steps++)))))
      // the next turn of the event loop comes only if the driver hands it back
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(steps).toBeGreaterThan(0)
    }))
})

describe("VirtualTime with layers built outside it", () => {
  it.live("a pipeline built on the real clock and run on the virtual one still establishes each prefix once", () =>
    Effect.gen(function*() {
      const turn = Effect.gen(function*() {
        const pipeline = yield* Pipeline.Pipeline
        return yield* pipeline.turn({
          sessionId: "s",
          conversation: {
            model: "claude-sonnet-4-6",
            max_tokens: 50,
            system: "You are a meticulous reviewer. ".repeat(400),
            messages: [{ role: "user", content: "the diff" }]
          },
          prompts: [{ prompt: "a" }, { prompt: "b" }, { prompt: "c" }]
        })
      })
      // the layers (and the warmer's watchdog) are built here, on the real clock; the turn runs on the
      // virtual one: the gates must still hold the waiters until the leader's response begins
      const result = yield* VirtualTime.run(turn).pipe(Effect.provide(SimulatedPipeline.layer({ pruner: false })))
      const usages = result.responses.map((r) => Either.getOrThrow(r).usage)
      expect(usages.filter((u) => u.cacheCreation5m > 0)).toHaveLength(1)
      expect(usages.filter((u) => u.cacheRead > 0)).toHaveLength(2)
    }))
})

describe("the discrete-event driver against TestClock's", () => {
  // multi-user-day at 60 users (its day, thinned): TestClock's driver takes minutes over its 2,000
  const workloadOf = (name: string) => name === "multi-user-day" ? multiUserDay(60) : Option.getOrThrow(Workload.builtin(name))
  const runOn = (drive: typeof VirtualTime.run, name: string, warming: "off" | "auto", pruning: boolean, keepAlive = false) =>
    Effect.gen(function*() {
      const context = yield* Layer.build(SimulatedProvider.layer())
      const result = yield* drive(Runner.run(
        workloadOf(name),
        { warming, pruning, keepAlive, provider: "simulated", simulatedTime: true },
        Layer.succeedContext(context)
      ))
      const calls = yield* Context.get(context, SimulatedProvider.Simulator).calls
      return { result, calls }
    }).pipe(Effect.scoped)

  for (const name of Workload.builtinNames) {
    it.live(`${name}: the same report, the same calls at the same simulated times, row for row`, () =>
      Effect.gen(function*() {
        for (const [warming, pruning, keepAlive] of [["auto", true, true], ["off", false, false]] as const) {
          const a = yield* runOn(VirtualTime.run, name, warming, pruning, keepAlive)
          const b = yield* runOn(VirtualTime.runWithTestClock, name, warming, pruning, keepAlive)
          expect(a.calls.length).toBeGreaterThan(0)
          expect(a.calls).toEqual(b.calls)
          expect(a.result.turnCostsUsd).toEqual(b.result.turnCostsUsd)
          expect(a.result.report).toEqual(b.result.report)
        }
      }), 120_000)
  }
})
