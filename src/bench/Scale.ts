/**
 * `bench --scale`: the multi-user service's day (`multi-user-day`) at 1,000, 10,000 and 100,000
 * sessions — the arrival rate grows with the sessions, the day stays a day — on the simulator in
 * virtual time, measuring what the simulation costs the machine: wall time, wall time per request,
 * and the process's peak resident memory.
 *
 * @since 0.4.0
 */
import * as Effect from "effect/Effect"
import v8 from "node:v8"
import * as SimulatedProvider from "../simulator/SimulatedProvider.js"
import * as VirtualTime from "../simulator/VirtualTime.js"
import { multiUserDay } from "./BuiltinWorkloads.js"
import type { Report } from "./Report.js"
import * as Runner from "./Runner.js"

/**
 * @since 0.4.0
 * @category models
 */
export interface Row {
  readonly sessions: number
  readonly requests: number
  readonly wallMs: number
  readonly msPerRequest: number
  /** the process's peak resident set while the run ran, MB (sampled every 20 ms) */
  readonly peakRssMb: number
  readonly simulatedHours: number
  readonly hitRateTokens: number
  readonly costUsd: number | null
  readonly costPerHourUsd: number | null
}

/**
 * The process's peak resident set while `effect` runs, sampled every 20 ms of wall time (the virtual
 * clock's driver hands the event loop back every ~50 ms, so the sampler runs during a simulation).
 */
const peakRss = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<readonly [A, number], E, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const sampled = { peak: process.memoryUsage.rss() }
      const timer = setInterval(() => {
        sampled.peak = Math.max(sampled.peak, process.memoryUsage.rss())
      }, 20)
      return { sampled, timer }
    }),
    ({ sampled }) => Effect.map(effect, (a) => [a, Math.max(sampled.peak, process.memoryUsage.rss())] as const),
    ({ timer }) => Effect.sync(() => clearInterval(timer))
  )

/** the run's share of prompt tokens (requests and warm calls) read from the cache, from its hours */
const hitRateOf = (report: Report): number => {
  const prompt = report.perHour.reduce((n, h) => n + h.promptTokens, 0)
  return prompt === 0 ? 0 : report.perHour.reduce((n, h) => n + h.cacheReadTokens, 0) / prompt
}

/**
 * @since 0.4.0
 * @category constants
 */
export const defaultSizes: ReadonlyArray<number> = [1_000, 10_000, 100_000]

/**
 * The heap growth the study runs under: V8 grows its old space to up to 4× the live heap after a full
 * collection when the program allocates fast, as a simulation does, so the resident set measures the
 * collector's slack more than what is live. The study asks for growth by 45% instead
 * (`--heap-growing-percent=45`, process-wide, from then on). Measured at 100,000 users through the CLI
 * (whose modules take ~140 MB before any run; live heap ~45 MB after full collections): 45% — 249 MB,
 * 46.8 s; 60% — 290 MB, 44.6 s. The study alone (`--trace-gc`): 30% — 147 full collections, 54.9 s;
 * 60% — 85, 50.5 s; 100% — 53, 47.6 s.
 *
 * @since 0.4.0
 * @category constants
 */
export const heapGrowingPercent = 45

/**
 * Runs the sizes in increasing order, under {@link heapGrowingPercent}.
 *
 * @since 0.4.0
 * @category benchmarks
 */
export const run = (sizes: ReadonlyArray<number> = defaultSizes): Effect.Effect<ReadonlyArray<Row>> =>
  Effect.zipRight(
    Effect.sync(() => v8.setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`)),
    Effect.forEach([...sizes].sort((a, b) => a - b), (sessions) =>
    Effect.gen(function*() {
      const workload = multiUserDay(sessions)
      const started = performance.now()
      const [{ report }, rss] = yield* peakRss(VirtualTime.run(
        Runner.run(
          workload,
          // the study reports no oracle bound: its table of every distinct block would be a third or
          // more of the live heap at 100,000 users
          { warming: "auto", pruning: true, provider: "simulated", simulatedTime: true, oracle: false },
          // the call log would grow with the requests: keep its tail only
          SimulatedProvider.layer({ callLogLimit: 1_000 })
        )
      ))
      const wallMs = performance.now() - started
      const requests = report.calls.request.count
      const hours = report.details.elapsedMs / 3_600_000
      return {
        sessions,
        requests,
        wallMs: Math.round(wallMs),
        msPerRequest: wallMs / Math.max(1, requests),
        peakRssMb: Math.round(rss / 1e6),
        simulatedHours: hours,
        hitRateTokens: hitRateOf(report),
        costUsd: report.totalCostUsd,
        costPerHourUsd: report.totalCostUsd === null || hours === 0 ? null : report.totalCostUsd / hours
      } satisfies Row
    }))
  )

/**
 * @since 0.4.0
 * @category rendering
 */
export const render = (rows: ReadonlyArray<Row>): string => {
  const first = rows[0]
  const last = rows[rows.length - 1]
  return [
    "scale: multi-user-day (10k-token shared prompt, 2 turns a user, arrivals over a simulated day), warming auto, pruning on, simulator in virtual time",
    "sessions  requests    wall   ms/request  peak RSS  simulated  hit rate (tokens)       cost   cost/hour",
    ...rows.map((r) =>
      `${r.sessions.toLocaleString("en-US").padStart(8)}  ${r.requests.toLocaleString("en-US").padStart(8)}  ${
        `${(r.wallMs / 1000).toFixed(1)} s`.padStart(6)
      }  ${r.msPerRequest.toFixed(3).padStart(11)}  ${`${r.peakRssMb} MB`.padStart(8)}  ${`${r.simulatedHours.toFixed(1)} h`.padStart(9)}  ${
        `${(r.hitRateTokens * 100).toFixed(1)}%`.padStart(17)
      }  ${(r.costUsd === null ? "unknown" : `$${r.costUsd.toFixed(2)}`).padStart(9)}  ${
        (r.costPerHourUsd === null ? "unknown" : `$${r.costPerHourUsd.toFixed(2)}`).padStart(10)
      }`
    ),
    ...(first !== undefined && last !== undefined && last !== first
      ? [`wall time per request, ${last.sessions.toLocaleString("en-US")} against ${first.sessions.toLocaleString("en-US")} sessions: ${(last.msPerRequest / first.msPerRequest).toFixed(2)}×`]
      : [])
  ].join("\n")
}

/**
 * One arrival rate of the sweep, under one strategy.
 *
 * @since 0.4.0
 * @category models
 */
export interface RatePoint {
  readonly perSecond: number
  readonly strategy: "off" | "auto" | "auto+keep-alive"
  readonly sessions: number
  readonly costPerThousandUsd: number | null
  readonly hitRateTokens: number
}

/**
 * @since 0.4.0
 * @category constants
 */
export const defaultRates: ReadonlyArray<number> = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3]

/**
 * Cost against arrival rate: the multi-user users (2 turns, 40 s apart, over a 10k-token shared
 * prompt) arriving at a steady rate — `sessions` of them per rate, so thin traffic spans days of
 * simulated time — with warming off, auto, and auto with keep-alive. Below one user per TTL the
 * shared prefix expires between users; above it, it stays warm.
 *
 * @since 0.4.0
 * @category benchmarks
 */
export const arrivalSweep = (
  rates: ReadonlyArray<number> = defaultRates,
  sessions = 500
): Effect.Effect<ReadonlyArray<RatePoint>> =>
  Effect.forEach(rates, (perSecond) =>
    Effect.forEach([["off", false], ["auto", false], ["auto+keep-alive", true]] as const, ([strategy, keepAlive]) =>
      Effect.gen(function*() {
        const workload = { ...multiUserDay(sessions), name: "multi-user-steady", arrivals: { perSecond, seed: 1 } }
        const { report } = yield* VirtualTime.run(
          Runner.run(
            workload,
            { warming: strategy === "off" ? "off" : "auto", pruning: true, keepAlive, provider: "simulated", simulatedTime: true },
            SimulatedProvider.layer({ callLogLimit: 1_000 })
          )
        )
        return {
          perSecond,
          strategy,
          sessions,
          costPerThousandUsd: report.totalCostUsd === null ? null : (report.totalCostUsd / sessions) * 1_000,
          hitRateTokens: hitRateOf(report)
        } satisfies RatePoint
      })
    )).pipe(Effect.map((rows) => rows.flat()))

/**
 * @since 0.4.0
 * @category rendering
 */
export const renderSweep = (points: ReadonlyArray<RatePoint>): string => {
  const rates = [...new Set(points.map((p) => p.perSecond))]
  const cell = (p: RatePoint | undefined) =>
    p === undefined || p.costPerThousandUsd === null ? "unknown" : `$${p.costPerThousandUsd.toFixed(2)} ${(p.hitRateTokens * 100).toFixed(0).padStart(3)}%`
  return [
    `cost vs arrival rate: multi-user users at a steady rate (${points[0]?.sessions ?? 0} per rate), pruning on; USD per 1,000 users and the token hit rate`,
    "users/s        off               auto              auto+keep-alive",
    ...rates.map((r) => {
      const at = (s: RatePoint["strategy"]) => points.find((p) => p.perSecond === r && p.strategy === s)
      return `${String(r).padEnd(8)}  ${cell(at("off")).padStart(15)}  ${cell(at("auto")).padStart(15)}  ${cell(at("auto+keep-alive")).padStart(15)}`
    })
  ].join("\n")
}
