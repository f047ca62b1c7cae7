import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as WarmRegistry from "../src/WarmRegistry.js"

describe("WarmRegistry (memory)", () => {
  it.effect("entries expire and are dropped", () =>
    Effect.gen(function*() {
      const r = yield* WarmRegistry.makeMemory()
      yield* r.markWarm("a", 300_000)
      expect(yield* WarmRegistry.isWarm(r, "a")).toBe(true)
      yield* TestClock.adjust("296 seconds")
      // within the 5 s safety margin: no longer counted warm
      expect(yield* WarmRegistry.isWarm(r, "a")).toBe(false)
      expect(Option.isSome(yield* r.warmUntil("a"))).toBe(true)
      yield* TestClock.adjust("5 seconds")
      expect(yield* r.warmUntil("a")).toEqual(Option.none())
      expect(yield* r.size).toBe(0)
    }))

  it.effect("is bounded: least recently used out first", () =>
    Effect.gen(function*() {
      const r = yield* WarmRegistry.makeMemory({ maxEntries: 3 })
      for (const k of ["a", "b", "c"]) yield* r.markWarm(k, 1_000_000)
      yield* r.warmUntil("a") // touch a
      yield* r.markWarm("d", 1_000_000)
      expect(yield* r.size).toBe(3)
      expect(Option.isSome(yield* r.warmUntil("a"))).toBe(true)
      expect(yield* r.warmUntil("b")).toEqual(Option.none())
    }))

  it.effect("observe: writes and the read boundary warm, beyond the cached span cold", () =>
    Effect.gen(function*() {
      const r = yield* WarmRegistry.makeMemory()
      const bps = [
        { fingerprint: "sys", ttl: "1h" as const, cumulativeTokens: 2000 },
        { fingerprint: "prev", ttl: "5m" as const, cumulativeTokens: 3000 },
        { fingerprint: "turn", ttl: "5m" as const, cumulativeTokens: 4000 }
      ]
      yield* r.markWarm("turn", 10_000_000)
      // read the system prefix, wrote up to prev, and turn was not cached (a miss where a hit was expected)
      yield* WarmRegistry.observe(r, bps, { cacheRead: 2000, cacheCreation5m: 1000, cacheCreation1h: 0 }, 1000)
      expect(yield* r.warmUntil("sys")).toEqual(Option.some(1000 + 3_600_000))
      expect(yield* r.warmUntil("prev")).toEqual(Option.some(1000 + 300_000))
      expect(yield* r.warmUntil("turn")).toEqual(Option.none())
    }))

  it.effect("markWarm never shortens a known expiry", () =>
    Effect.gen(function*() {
      const r = yield* WarmRegistry.makeMemory()
      yield* r.markWarm("a", 3_600_000)
      yield* r.markWarm("a", 300_000)
      expect(yield* r.warmUntil("a")).toEqual(Option.some(3_600_000))
    }))
})
