/**
 * The figures of docs/benchmarks.md ("OpenAI (issue 16)") that come from the simulator's call log
 * rather than the bench table: on `openai-agent` (pruning off), how many calls wrote more than a
 * request's own tail (more than 200 tokens), the share of prompt tokens read, and the cost — with
 * OpenAI's routing limit (15 a minute per key, sharded keys) and with it lifted (one key).
 *
 *   npx tsx scripts/openai-call-log.ts
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runner from "../src/bench/Runner.js"
import * as Workload from "../src/bench/Workload.js"
import * as Pricing from "../src/Pricing.js"
import * as SimulatedProvider from "../src/simulator/SimulatedProvider.js"
import * as VirtualTime from "../src/simulator/VirtualTime.js"

const main = Effect.gen(function*() {
  const workload = yield* Workload.check("openai-agent", yield* Workload.read("openai-agent"), Pricing.defaultTable)
  const setups = [
    ["routing limit 15/min, sharded keys", {}],
    ["routing limit lifted, one key", { openai: { routingLimitPerMinute: Infinity }, openaiKeys: { maxShards: 1 } }]
  ] as const
  for (const [label, config] of setups) {
    for (const warming of ["off", "auto"] as const) {
      let sim: SimulatedProvider.SimulatorService | undefined
      const provider = Layer.tap(SimulatedProvider.layer(config), (ctx) =>
        Effect.sync(() => void (sim = ctx.unsafeMap.get("effect-prompt-cache/Simulator") as SimulatedProvider.SimulatorService)))
      const result = yield* VirtualTime.run(
        Runner.run(workload, { warming, pruning: false, prices: {}, provider: "simulated", simulatedTime: true }, provider, () => Effect.void)
      )
      const calls = yield* sim!.calls
      const writers = calls.filter((c) => c.usage!.cacheCreation5m > 200).length
      const prompt = calls.reduce((n, c) => n + c.usage!.input + c.usage!.cacheCreation5m + c.usage!.cacheRead, 0)
      const read = calls.reduce((n, c) => n + c.usage!.cacheRead, 0)
      console.log(
        `${label}, ${warming}: ${calls.length} calls, ${writers} writing more than 200 tokens, ` +
          `${(100 * read / prompt).toFixed(1)}% of prompt tokens read, $${result.report.totalCostUsd!.toFixed(4)} ` +
          `(oracle $${result.report.oracleCostUsd!.toFixed(4)})`
      )
    }
  }
})

Effect.runPromise(main)
