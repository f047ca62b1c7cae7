import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as VirtualTime from "../../src/simulator/VirtualTime.js"

describe("VirtualTime", () => {
  it.live("runs sleeps on a virtual clock and gives the caller its real clock back", () =>
    Effect.gen(function*() {
      const wall = Date.now()
      const simulated = yield* VirtualTime.run(Effect.gen(function*() {
        const t0 = yield* Clock.currentTimeMillis
        yield* Effect.sleep("3 hours")
        return (yield* Clock.currentTimeMillis) - t0
      }))
      expect(simulated).toBe(3 * 3_600_000)
      expect(Date.now() - wall).toBeLessThan(5_000)
      // a real sleep afterwards completes: the test clock did not leak into this fiber
      const after = yield* Effect.sleep("20 millis").pipe(Effect.timeout("2 seconds"), Effect.either)
      expect(after._tag).toBe("Right")
    }))
})
