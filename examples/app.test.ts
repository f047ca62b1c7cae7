/**
 * The example app's test: the same program with the simulator swapped in for the Anthropic layer —
 * one layer changes, nothing else.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Fiber, Layer, TestClock } from "effect"
import { CacheMetrics, Pipeline } from "effect-prompt-cache"
import { SimulatedProvider } from "effect-prompt-cache/simulator"
import { reviewChange } from "./app.js"

const TestLive = Pipeline.layer({ warmer: { policy: "auto" } }).pipe(Layer.provideMerge(SimulatedProvider.layer()))

describe("example app", () => {
  it.effect("three reviews over one cached prefix", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(reviewChange("- a\n+ b"))
      yield* TestClock.adjust("1 minute")
      const reviews = yield* Fiber.join(fiber)
      expect(reviews).toHaveLength(3)
      expect(reviews.every(Either.isRight)).toBe(true)
      const snapshot = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
      expect(snapshot.calls.request.count).toBe(3)
      expect(snapshot.calls.request.cacheHits).toBe(2)
      expect(snapshot.calls.warm.count).toBe(0)
      // the simulator saw exactly three requests: no extra warm call was needed
      const calls = yield* Effect.flatMap(SimulatedProvider.Simulator, (s) => s.calls)
      expect(calls.map((c) => c.maxTokens)).toEqual([400, 400, 400])
    }).pipe(Effect.provide(TestLive)))
})
