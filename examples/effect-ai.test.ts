/**
 * The @effect/ai example's test: the same program and layers, with only the environment changed —
 * ANTHROPIC_BASE_URL at a local `serve` — over real HTTP.
 */
import { describe, expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { CacheMetrics } from "effect-prompt-cache"
import { SimulatedProvider, SimulatorServer } from "effect-prompt-cache/simulator"
import { analyse, AppLive } from "./effect-ai.js"

/** `serve` where a write becomes readable 300 ms after it starts */
const Serve = SimulatorServer.layer().pipe(
  Layer.provideMerge(SimulatedProvider.layer({ latency: { ...SimulatedProvider.zeroLatency, baseMs: 300, outputMsPerToken: 1 } }))
)

describe("@effect/ai example", () => {
  layer(Serve, { excludeTestServices: true })("against serve", (it) => {
    it.effect("five analysts over one brief: the brief written once, read four times", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const env = ConfigProvider.fromMap(new Map([["ANTHROPIC_API_KEY", "sk-ant-example"], ["ANTHROPIC_BASE_URL", server.url]]))
        const { answers, snapshot } = yield* Effect.gen(function*() {
          const answers = yield* analyse
          const snapshot = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
          return { answers, snapshot }
        }).pipe(Effect.provide(AppLive), Effect.withConfigProvider(env))
        expect(answers).toHaveLength(5)
        expect(answers.every((a) => a.length > 0)).toBe(true)
        expect(snapshot.gates).toMatchObject({ led: 1, waited: 4 })
        const calls = yield* Effect.flatMap(SimulatedProvider.Simulator, (s) => s.calls)
        // the brief (about 4,500 tokens) written by one call, read by the other four
        expect(calls.filter((c) => (c.usage?.cacheCreation5m ?? 0) >= 1_000)).toHaveLength(1)
        expect(calls.filter((c) => (c.usage?.cacheRead ?? 0) >= 1_000)).toHaveLength(4)
      }))
  })
})
