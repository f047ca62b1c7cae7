import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
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
      // epoch is 0), and a real sleep completes
      const now = yield* Clock.currentTimeMillis
      expect(now).toBeGreaterThan(Date.UTC(2020, 0, 1))
      yield* Effect.sleep("20 millis")
    }))
})
