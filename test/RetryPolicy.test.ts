import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import type { ProviderError } from "../src/ProviderError.js"
import { InvalidRequest, Overloaded, RateLimited } from "../src/ProviderError.js"
import * as RetryPolicy from "../src/RetryPolicy.js"

/** an effect that fails with `errors` in turn, then succeeds; counts attempts */
const flaky = (errors: ReadonlyArray<ProviderError>) => {
  let attempts = 0
  const effect = Effect.suspend(() => {
    const e = errors[attempts++]
    return e === undefined ? Effect.succeed("ok") : Effect.fail(e)
  })
  return { effect, attempts: () => attempts }
}

describe("RetryPolicy", () => {
  it.effect("waits at least the server's retry-after", () =>
    Effect.gen(function*() {
      const f = flaky([new RateLimited({ detail: "slow down", retryAfterMs: 5000 })])
      const fiber = yield* Effect.fork(
        RetryPolicy.retry(f.effect, RetryPolicy.exponentialBackoff({ baseDelayMs: 100, jitter: false }))
      )
      yield* TestClock.adjust("4999 millis")
      expect(f.attempts()).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(f.attempts()).toBe(2)
    }))

  it.effect("backs off exponentially with a cap, and gives up after maxRetries", () =>
    Effect.gen(function*() {
      const always = Array.from({ length: 10 }, () => new Overloaded({ detail: "busy" }))
      const f = flaky(always)
      const retried: Array<string> = []
      const fiber = yield* Effect.fork(
        Effect.flip(
          RetryPolicy.retry(
            f.effect,
            RetryPolicy.exponentialBackoff({ baseDelayMs: 100, maxDelayMs: 300, maxRetries: 3, jitter: false }),
            (e) => Effect.sync(() => void retried.push(e._tag))
          )
        )
      )
      yield* TestClock.adjust("99 millis")
      expect(f.attempts()).toBe(1)
      yield* TestClock.adjust("1 millis") // 100
      expect(f.attempts()).toBe(2)
      yield* TestClock.adjust("200 millis") // 300
      expect(f.attempts()).toBe(3)
      yield* TestClock.adjust("299 millis") // capped at 300, not 400
      expect(f.attempts()).toBe(3)
      yield* TestClock.adjust("1 millis")
      expect(f.attempts()).toBe(4)
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("Overloaded")
      expect(f.attempts()).toBe(4)
      expect(retried).toEqual(["Overloaded", "Overloaded", "Overloaded"])
    }))

  it.effect("request errors fail at once", () =>
    Effect.gen(function*() {
      const f = flaky([new InvalidRequest({ detail: "bad" })])
      const retried: Array<string> = []
      const error = yield* Effect.flip(
        RetryPolicy.retry(f.effect, RetryPolicy.exponentialBackoff(), (e) => Effect.sync(() => void retried.push(e._tag)))
      )
      expect(error._tag).toBe("InvalidRequest")
      expect(f.attempts()).toBe(1)
      expect(retried).toEqual([])
    }))

  it.effect("a 429 without retry-after (spend cap) uses the capped backoff and gives up within the budget", () =>
    Effect.gen(function*() {
      const f = flaky(Array.from({ length: 100 }, () => new RateLimited({ detail: "spend cap reached" })))
      const fiber = yield* Effect.fork(
        Effect.flip(
          RetryPolicy.retry(
            f.effect,
            RetryPolicy.exponentialBackoff({ baseDelayMs: 1000, maxDelayMs: 4000, maxRetries: 50, maxElapsedMs: 20_000 })
          )
        )
      )
      yield* TestClock.adjust("60 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("RateLimited")
      // jittered delays ≤ 1.2 s, 2.4 s, 4 s, 4 s, ... inside a 20 s budget: a handful of attempts, not 51
      expect(f.attempts()).toBeGreaterThanOrEqual(4)
      expect(f.attempts()).toBeLessThanOrEqual(12)
    }))

  it.effect("none never retries", () =>
    Effect.gen(function*() {
      const f = flaky([new Overloaded({ detail: "busy" })])
      yield* Effect.flip(RetryPolicy.retry(f.effect, RetryPolicy.none))
      expect(f.attempts()).toBe(1)
    }))
})
