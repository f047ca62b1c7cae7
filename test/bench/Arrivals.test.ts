import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Clock from "effect/Clock"
import * as Stream from "effect/Stream"
import type { MessagesRequest } from "../../src/Prompt.js"
import { LanguageModel } from "../../src/LanguageModel.js"
import * as Arrivals from "../../src/bench/Arrivals.js"
import { multiUserDay, serviceDay } from "../../src/bench/BuiltinWorkloads.js"
import * as Replicas from "../../src/bench/Replicas.js"
import * as Runner from "../../src/bench/Runner.js"
import * as Scale from "../../src/bench/Scale.js"
import * as Workload from "../../src/bench/Workload.js"
import * as Option from "effect/Option"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as VirtualTime from "../../src/simulator/VirtualTime.js"

const HOUR = 3_600_000

describe("Arrivals", () => {
  it("a Poisson process: in order, at the mean rate, the same for the same seed", () => {
    const times = Arrivals.times({ perSecond: 2, seed: 7 }, 20_000)
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!)
    // 20,000 gaps of mean 500 ms: the sample mean is within 3% (about 4 standard errors)
    expect(times[times.length - 1]! / times.length).toBeGreaterThan(485)
    expect(times[times.length - 1]! / times.length).toBeLessThan(515)
    // exponential gaps: about e^-1 of them longer than the mean
    let longer = 0
    for (let i = 1; i < times.length; i++) if (times[i]! - times[i - 1]! > 500) longer++
    expect(longer / times.length).toBeCloseTo(Math.exp(-1), 1)
    expect(Arrivals.times({ perSecond: 2, seed: 7 }, 100)).toEqual(times.slice(0, 100))
    expect(Arrivals.times({ perSecond: 2, seed: 8 }, 100)).not.toEqual(times.slice(0, 100))
  })

  it("a daily profile: each hour gets arrivals in proportion to its weight, none in an hour of weight 0", () => {
    const daily = serviceDay.map((w, h) => (h === 3 ? 0 : w))
    const perSecond = 0.5
    const times = Arrivals.times({ perSecond, daily, seed: 3 }, 43_200)
    const perHour = Array.from({ length: 24 }, () => 0)
    for (const t of times) if (t < 24 * HOUR) perHour[Math.floor(t / HOUR)]!++
    const rates = Arrivals.hourlyRates({ perSecond, daily })
    expect(perHour[3]).toBe(0)
    for (let h = 0; h < 24; h++) {
      const expected = rates[h]! * 3_600
      // Poisson counts: within 5 standard deviations of the hour's rate
      expect(Math.abs(perHour[h]! - expected)).toBeLessThanOrEqual(5 * Math.sqrt(expected) + 1)
    }
    // perSecond stays the day's mean rate
    expect(rates.reduce((a, b) => a + b, 0) / 24).toBeCloseTo(perSecond, 9)
  })
})

/** a small multi-user workload: a 10k-token prompt, users arriving over simulated hours */
const day = (sessions: number, perSecond: number): Workload.Workload => ({ ...multiUserDay(sessions), arrivals: { perSecond, seed: 5 } })

/** runs a workload on the simulator, logging each call's session (from its "Customer N:" text) and time */
const runLogged = (workload: Workload.Workload, options: Partial<Runner.RunOptions> = {}) =>
  VirtualTime.run(Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(SimulatedProvider.layer())
    const lm = Context.get(context, LanguageModel)
    const calls: Array<{ readonly session: number; readonly at: number; readonly maxTokens: number; readonly promptAlone: boolean }> = []
    // a call that carries no user's text (a refresh of the shared prompt alone) is session -1
    const sessionOf = (request: MessagesRequest) => Number(/Customer (\d+):/.exec(JSON.stringify(request.messages))?.[1] ?? -1)
    const log = (request: MessagesRequest) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) =>
        Effect.sync(() =>
          calls.push({
            session: sessionOf(request),
            at,
            maxTokens: request.max_tokens,
            // the shared prompt alone, as keep-alive refreshes it: one "." message after tools and system
            promptAlone: request.messages.length === 1 && request.messages[0]!.content === "."
          })
        ))
    // every way a call goes out (the warmer streams the requests that lead)
    const logged = Layer.succeed(LanguageModel, {
      ...lm,
      create: (request) => Effect.zipRight(log(request), lm.create(request)),
      stream: (request) => Stream.unwrap(Effect.as(log(request), lm.stream(request))),
      ...(lm.streamResponse !== undefined
        ? {
          streamResponse: (request: MessagesRequest, onBegun: Parameters<NonNullable<typeof lm.streamResponse>>[1]) =>
            Effect.zipRight(log(request), lm.streamResponse!(request, onBegun))
        }
        : {})
    })
    const result = yield* Runner.run(
      workload,
      { warming: "auto", pruning: true, provider: "simulated", simulatedTime: true, ...options },
      logged
    )
    return { ...result, calls }
  })))

describe("sessions over time", () => {
  it.effect("each session's first request is sent at its arrival, and the report counts the run hour by hour", () =>
    Effect.gen(function*() {
      const workload = day(60, 0.01)
      // warming off: no request waits at a gate for another session's, so each goes out on arrival
      const { calls, report } = yield* runLogged(workload, { warming: "off" })
      const starts = Arrivals.times(workload.arrivals!, 60)
      // each session's first request is sent when the session arrives
      for (let s = 0; s < 60; s++) {
        const first = Math.min(...calls.filter((c) => c.session === s).map((c) => c.at))
        expect(first).toBeCloseTo(starts[s]!, 6)
      }
      expect(report.details.arrivals).toEqual({ perSecond: 0.01, delayedStarts: 0 })
      // the hours add up to the run: sessions, requests, cost
      expect(report.perHour.length).toBe(Math.floor(report.details.elapsedMs / HOUR) + 1)
      expect(report.perHour.reduce((n, h) => n + h.sessionsStarted, 0)).toBe(60)
      expect(report.perHour.reduce((n, h) => n + h.requests, 0)).toBe(report.calls.request.count)
      expect(report.perHour.reduce((n, h) => n + h.costUsd!, 0)).toBeCloseTo(report.totalCostUsd!, 6)
      for (const h of report.perHour) {
        expect(h.sessionsStarted).toBe(starts.filter((t) => Math.floor(t / HOUR) === h.hour).length)
      }
      // thin traffic: a user every ~100 s against a 5-minute TTL — some users find the prefix gone
      expect(report.missReasons.request.ttl_expired ?? 0).toBeGreaterThan(0)
    }))

  it.effect("at most sessionConcurrency sessions run at once; the others start late, and are counted", () =>
    Effect.gen(function*() {
      // 12 users arriving about a second apart, each staying ~45 s: with 3 slots most must wait
      const { calls, report } = yield* runLogged(day(12, 1), { sessionConcurrency: 3 })
      const span = new Map<number, { first: number; last: number }>()
      for (const c of calls) {
        const was = span.get(c.session)
        span.set(c.session, { first: Math.min(was?.first ?? Infinity, c.at), last: Math.max(was?.last ?? 0, c.at) })
      }
      // no moment with more than 3 sessions between their first and last call
      for (const { first } of span.values()) {
        expect([...span.values()].filter((o) => o.first <= first && o.last >= first).length).toBeLessThanOrEqual(3)
      }
      expect(report.details.arrivals!.delayedStarts).toBeGreaterThan(0)
      expect(report.calls.request.count).toBe(24)
      const free = yield* runLogged(day(12, 1))
      expect(free.report.details.arrivals!.delayedStarts).toBe(0)
    }))
})

describe("keep-alive over users who come and go", () => {
  it.effect("it refreshes the prompt the users share, never a user's own prefix once the user has moved on or left", () =>
    Effect.gen(function*() {
      // a user every ~5 minutes, two turns 40 s apart, then gone
      const kept = yield* runLogged(day(30, 0.003), { keepAlive: true })
      const plain = yield* runLogged(day(30, 0.003))
      const refreshes = kept.calls.filter((c) => c.maxTokens === 0)
      expect(refreshes.length).toBe(kept.report.calls.warm.count)
      expect(refreshes.length).toBeGreaterThan(0)
      // every refresh is of the shared prompt alone: none carries a user's conversation
      expect(refreshes.every((c) => c.promptAlone && c.session === -1)).toBe(true)
      // and it pays: the next user reads the prompt instead of writing it again
      expect(kept.report.totalCostUsd!).toBeLessThan(plain.report.totalCostUsd!)
      expect(plain.report.missReasons.request.ttl_expired ?? 0).toBeGreaterThan(kept.report.missReasons.request.ttl_expired ?? 0)
    }))

  it.effect("a single conversation reading its own longer prefix does not keep the shared prompt alive", () =>
    Effect.gen(function*() {
      // idle-gap: one conversation, 7-minute gaps; keep-alive refreshes its prefix, never the prompt alone
      const { calls, report } = yield* runLogged(Option.getOrThrow(Workload.builtin("idle-gap")), { keepAlive: true })
      const refreshes = calls.filter((c) => c.maxTokens === 0)
      expect(refreshes.length).toBe(report.calls.warm.count)
      expect(refreshes.length).toBeGreaterThan(0)
      expect(refreshes.some((c) => c.promptAlone)).toBe(false)
    }))
})

describe("replicas in simulation", () => {
  it.effect("a registry per replica writes the shared prompt once per replica; one shared registry, once in all", () =>
    Effect.gen(function*() {
      const burst = { ...multiUserDay(16), arrivals: undefined, name: "burst-16" }
      const rows = yield* Replicas.simulate(burst, 4, 1)
      expect(rows.map((r) => [r.replicas, r.registry])).toEqual([
        [1, "separate"], [2, "separate"], [4, "separate"], [1, "shared"], [2, "shared"], [4, "shared"]
      ])
      const at = (replicas: number, registry: string) => rows.find((r) => r.replicas === replicas && r.registry === registry)!
      // four replicas each write the ~10k-token prompt: over 3× one replica's writes
      expect(at(4, "separate").writeAmplification).toBeGreaterThan(3)
      expect(at(4, "separate").costUsd!).toBeGreaterThan(at(1, "separate").costUsd!)
      // shared: as one process, whatever the count
      for (const n of [2, 4]) expect(at(n, "shared").cacheWriteTokens).toBe(at(1, "shared").cacheWriteTokens)
      expect(at(1, "shared").cacheWriteTokens).toBe(at(1, "separate").cacheWriteTokens)
      for (const r of rows) expect(r.requests).toBe(32)
    }))
})

describe("the scale study", () => {
  it.effect("runs the day at each size and the sweep at each rate, with figures that come from the runs", () =>
    Effect.gen(function*() {
      const rows = yield* Scale.run([40, 20])
      expect(rows.map((r) => [r.sessions, r.requests])).toEqual([[20, 40], [40, 80]])
      for (const r of rows) {
        expect(r.wallMs).toBeGreaterThan(0)
        expect(r.peakRssMb).toBeGreaterThan(0)
        expect(r.costPerHourUsd!).toBeCloseTo(r.costUsd! / r.simulatedHours, 9)
      }
      expect(Scale.render(rows)).toContain("wall time per request, 40 against 20 sessions")
      const sweep = yield* Scale.arrivalSweep([0.001, 1], 30)
      const at = (rate: number, strategy: string) => sweep.find((p) => p.perSecond === rate && p.strategy === strategy)!
      // a user every 1,000 s finds the 5-minute cache gone (only their own second turn reads it); a
      // user a second finds it warm
      expect(at(0.001, "auto").hitRateTokens).toBeLessThan(0.7)
      expect(at(1, "auto").hitRateTokens).toBeGreaterThan(0.9)
      expect(at(1, "auto").costPerThousandUsd!).toBeLessThan(at(0.001, "auto").costPerThousandUsd!)
      expect(Scale.renderSweep(sweep)).toContain("auto+keep-alive")
    }))
})
