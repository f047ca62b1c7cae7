import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Demo from "../../src/bench/Demo.js"
import * as Pricing from "../../src/Pricing.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as VirtualTime from "../../src/simulator/VirtualTime.js"

describe("demo", () => {
  it.live("ends with totals that add up the calls it showed: naive three writes, warmed one write and three reads", () =>
    Effect.gen(function*() {
      const { naiveUsd, warmedUsd } = yield* VirtualTime.run(Demo.demo)
      const calls = yield* Effect.flatMap(SimulatedProvider.Simulator, (s) => s.calls)
      const price = Pricing.defaultTable["claude-sonnet-4-6"]!
      const cost = (from: number, to: number) =>
        calls.slice(from, to).reduce((sum, c) => sum + Pricing.microsToUsd(Pricing.costMicros(c.usage!, price)), 0)
      expect(calls).toHaveLength(7)
      expect(naiveUsd).toBeCloseTo(cost(0, 3), 9)
      expect(warmedUsd).toBeCloseTo(cost(3, 7), 9)
      expect(warmedUsd).toBeLessThan(naiveUsd)
    }).pipe(Effect.provide(SimulatedProvider.layer())))
})
