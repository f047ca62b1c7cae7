import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Oracle } from "../../src/bench/Oracle.js"
import * as Report from "../../src/bench/Report.js"
import * as Runner from "../../src/bench/Runner.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as VirtualTime from "../../src/simulator/VirtualTime.js"
import * as Workload from "../../src/bench/Workload.js"

const runOn = (name: string, warming: "off" | "always" | "auto", pruning = false, keepAlive = false) =>
  VirtualTime.run(
    Runner.run(
      Option.getOrThrow(Workload.builtin(name)),
      { warming, pruning, keepAlive, provider: "simulated", simulatedTime: true },
      SimulatedProvider.layer()
    )
  )

const REPORT_KEYS = [
  "workload", "provider", "model", "warming", "pruning", "turns", "sessions", "calls", "totalCostUsd",
  "noCacheCostUsd", "oracleCostUsd", "perSession", "missReasons", "prunedTokens", "retries", "failedRequests", "perHour", "details"
]
const CALL_KEYS = [
  "count", "cacheHits", "cacheMisses", "inputTokens", "cacheCreationInputTokens", "cacheCreation5mInputTokens",
  "cacheCreation1hInputTokens", "cacheReadInputTokens", "outputTokens", "costUsd"
]

describe("the bench table", () => {
  it.effect("has a legend and states what auto's saving costs in turn latency, from the reports' own figures", () =>
    Effect.gen(function*() {
      const off = (yield* runOn("multi-user-burst", "off")).report
      const auto = (yield* runOn("multi-user-burst", "auto")).report
      const text = Report.renderBench([off, auto])
      expect(text).toContain("× oracle: cost / the cheapest caching of the same requests")
      expect(text).toContain("auto establishes a cold prefix with its first request")
      const turns = auto.turns * auto.sessions
      const saved = (off.totalCostUsd! - auto.totalCostUsd!) / turns
      const slower = (auto.details.turnLatencyMs.p50! - off.details.turnLatencyMs.p50!) / 1000
      expect(saved).toBeGreaterThan(0)
      expect(Report.tradeOff([off, auto])).toEqual([
        `auto vs off (pruning off), per turn: $${saved.toFixed(4)} saved for ${slower >= 0 ? "+" : ""}${slower.toFixed(2)} s of p50 turn latency` +
        (slower > 0 ? ` ($${(saved / slower).toFixed(4)} per second waited)` : "")
      ])
    }), 60_000)
})

describe("time scale", () => {
  it.effect("--time-scale multiplies the idle gaps, and the report says so", () =>
    Effect.gen(function*() {
      const run = (idleScale: number) =>
        VirtualTime.run(Runner.run(
          Option.getOrThrow(Workload.builtin("idle-gap")),
          { warming: "auto", pruning: false, provider: "simulated", simulatedTime: true, idleScale },
          SimulatedProvider.layer()
        ))
      const full = (yield* run(1)).report
      const compressed = (yield* run(0.01)).report
      expect(full.details.timeScale).toBe(1)
      expect(compressed.details.timeScale).toBe(0.01)
      const idle = Option.getOrThrow(Workload.builtin("idle-gap")).turns.reduce((n, t) => n + (t.idleSeconds ?? 0), 0) * 1000
      expect(full.details.elapsedMs - compressed.details.elapsedMs).toBeGreaterThanOrEqual(idle * 0.99 - 1)
      expect(Report.renderText(compressed)).toContain("idle gaps ×0.01 (TTL expiry and keep-alive behave differently")
      expect(Report.renderText(full)).not.toContain("idle gaps ×")
    }), 60_000)
})

describe("Runner", () => {
  it.effect("perSession: every session counted, their costs adding up to the run's, with and without caching", () =>
    Effect.gen(function*() {
      const { report } = yield* runOn("multi-user-burst", "auto")
      const s = report.perSession
      expect(s.count).toBe(report.sessions)
      expect(s.count).toBeGreaterThan(1)
      expect(s.meanUsd! * s.count).toBeCloseTo(report.totalCostUsd!, 6)
      expect(s.noCache.meanUsd! * s.count).toBeCloseTo(report.noCacheCostUsd!, 6)
      expect(s.p50Usd!).toBeLessThanOrEqual(s.p95Usd!)
      expect(s.p95Usd!).toBeLessThanOrEqual(s.maxUsd!)
      // the first session writes the shared prefix, the others read it: the most expensive is the writer
      expect(s.maxUsd!).toBeGreaterThan(s.p50Usd!)
    }))

  it.effect("the report has the documented shape and adds up", () =>
    Effect.gen(function*() {
      const { report, turnCostsUsd } = yield* runOn("single-chat", "always")
      expect(Object.keys(report)).toEqual(REPORT_KEYS)
      expect(Object.keys(report.calls.warm)).toEqual(CALL_KEYS)
      expect(Object.keys(report.calls.request)).toEqual(CALL_KEYS)
      expect(report.calls.warm.count).toBe(8)
      expect(report.calls.request.count).toBe(8)
      expect(report.totalCostUsd).toBeCloseTo(report.calls.warm.costUsd! + report.calls.request.costUsd!, 9)
      // per-turn costs cover every call
      expect(turnCostsUsd.reduce((a, b) => a + b, 0)).toBeCloseTo(report.totalCostUsd!, 6)
      // one session: its cost is the run's
      expect(report.perSession.count).toBe(1)
      expect(report.perSession.meanUsd).toBeCloseTo(report.totalCostUsd!, 9)
      expect(report.perSession.noCache.maxUsd).toBeCloseTo(report.noCacheCostUsd!, 9)
      // every written token has a reason, warm calls and requests apart
      for (const kind of ["warm", "request"] as const) {
        const reasons = Object.entries(report.missReasons[kind]).filter(([reason]) => reason !== "below_minimum")
        expect(reasons.reduce((n, [, tokens]) => n + tokens, 0)).toBe(report.calls[kind].cacheCreationInputTokens)
      }
      expect(report.details.simulatedTime).toBe(true)
      expect(JSON.parse(JSON.stringify(report))).toEqual(report)
    }), 60_000)

  it.effect("auto never costs more than always, and strictly less where warming cannot pay", () =>
    Effect.gen(function*() {
      for (const name of Workload.builtinNames) {
        const always = (yield* runOn(name, "always")).report
        const auto = (yield* runOn(name, "auto")).report
        expect(auto.totalCostUsd!).toBeLessThanOrEqual(always.totalCostUsd!)
        if (name === "single-chat" || name === "multi-user-burst") {
          expect(auto.totalCostUsd!).toBeLessThan(always.totalCostUsd!)
        }
        // auto never costs less than the oracle lower bound
        expect(auto.totalCostUsd!).toBeGreaterThanOrEqual(auto.oracleCostUsd! * 0.999)
      }
    }), 120_000)

  it.effect("single request per turn: auto makes no warm call and costs what naive costs", () =>
    Effect.gen(function*() {
      const off = (yield* runOn("single-chat", "off")).report
      const auto = (yield* runOn("single-chat", "auto")).report
      expect(auto.calls.warm.count).toBe(0)
      expect(auto.totalCostUsd).toBe(off.totalCostUsd)
      expect(auto.details.skippedWarms).toEqual({ single_request: 8 })
    }), 60_000)

  it.effect("idle gaps: keep-alive turns TTL misses into reads", () =>
    Effect.gen(function*() {
      const plain = (yield* runOn("idle-gap", "auto", true)).report
      const kept = (yield* runOn("idle-gap", "auto", true, true)).report
      expect(plain.details.hitRate.request.calls).toBeLessThan(0.6)
      expect(kept.details.hitRate.request.calls).toBeGreaterThan(0.9)
      expect(kept.calls.warm.count).toBeGreaterThan(0)
      expect(kept.totalCostUsd!).toBeLessThan(plain.totalCostUsd!)
    }), 60_000)

  it("the oracle: reused blocks written once then read, others plain", () => {
    const oracle = new Oracle({ input: 1, output: 0, minCacheableTokens: 1 })
    const request = { model: "m", max_tokens: 1, system: "x".repeat(400), messages: [{ role: "user" as const, content: "y".repeat(40) }] }
    oracle.add(request, 0)
    oracle.add(request, 0)
    // 100 system tokens: 1.25 + 0.1; 13 message tokens: 1.25 + 0.1 → (113 × 1.35) µ$
    expect(oracle.costUsd()).toBeCloseTo((113 * 1.35) / 1e6, 12)
  })

  it("the oracle: a block used once is plain input; a 1h block is written at the 1h price", () => {
    const oracle = new Oracle({ input: 1, output: 0, minCacheableTokens: 1 })
    const system = [{ type: "text" as const, text: "x".repeat(400), cache_control: { type: "ephemeral" as const, ttl: "1h" as const } }]
    const once = { model: "m", max_tokens: 1, system, messages: [{ role: "user" as const, content: "a".repeat(40) }] }
    const again = { ...once, messages: [{ role: "user" as const, content: "b".repeat(40) }] }
    oracle.add(once, 0)
    oracle.add(again, 0)
    // the 100 system tokens twice: a 1h write (2×) and a read; each 13-token message once: plain
    expect(oracle.costUsd()).toBeCloseTo((100 * 2.1 + 2 * 13) / 1e6, 12)
  })

  it.effect("oracle: false leaves the bound out (null), and nothing else changes", () =>
    Effect.gen(function*() {
      const run = (oracle?: boolean) =>
        VirtualTime.run(Runner.run(
          Option.getOrThrow(Workload.builtin("single-chat")),
          { warming: "auto", pruning: true, provider: "simulated", simulatedTime: true, oracle },
          SimulatedProvider.layer()
        ))
      const with_ = (yield* run()).report
      const without = (yield* run(false)).report
      expect(with_.oracleCostUsd).toBeGreaterThan(0)
      expect(without.oracleCostUsd).toBeNull()
      expect({ ...without, oracleCostUsd: with_.oracleCostUsd }).toEqual(with_)
    }))
})
