/**
 * Replicas: one provider cache, N pipeline replicas. In simulation (virtual time), with a registry per
 * replica against one shared registry a simulated round trip away, for 1, 2, 4 … N replicas; and in
 * real time, N in-memory registries against one shared Redis.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Pipeline from "../Pipeline.js"
import * as SharedRegistry from "../simulator/SharedRegistry.js"
import * as VirtualTime from "../simulator/VirtualTime.js"
import * as RedisLoader from "./RedisLoader.js"
import * as SimulatedProvider from "../simulator/SimulatedProvider.js"
import type { Report } from "./Report.js"
import * as Runner from "./Runner.js"
import type * as Workload from "./Workload.js"

/**
 * @since 0.1.0
 * @category benchmarks
 */
export interface Result {
  readonly registry: "in-memory" | "redis"
  readonly replicas: number
  readonly costUsd: number
  readonly requests: number
  readonly requestHits: number
  readonly cacheWriteTokens: number
  readonly warmCalls: number
}

/** the simulator's latencies scaled down: replicas run on the real clock (Redis is real I/O) */
const SCALE = 0.02

/**
 * N pipeline replicas over one provider cache (one simulator), the workload's sessions split
 * round-robin between them: with N in-memory registries, then with one shared Redis registry. Real
 * time, with the simulator's latencies and the workload's idle gaps scaled by 1/50.
 *
 * @since 0.1.0
 * @category benchmarks
 */
export const realTime = (workload: Workload.Workload, replicas: number, redisUrl: string | undefined) =>
  Effect.gen(function*() {
    const results: Array<Result> = []
    const modes: ReadonlyArray<"in-memory" | "redis"> = redisUrl === undefined ? ["in-memory"] : ["in-memory", "redis"]
    for (const mode of modes) {
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const latency = SimulatedProvider.defaultLatency
        const simulator = yield* Layer.build(SimulatedProvider.layer({
          latency: {
            baseMs: latency.baseMs * SCALE,
            uncachedMsPer1k: latency.uncachedMsPer1k * SCALE,
            cachedMsPer1k: latency.cachedMsPer1k * SCALE,
            outputMsPerToken: latency.outputMsPerToken * SCALE
          }
        }))
        const provider = Layer.succeedContext(simulator)
        const keyPrefix = `epc-bench-${Date.now()}`
        const sessions = workload.sessions ?? 1
        const runs = yield* Effect.forEach(Array.from({ length: replicas }, (_, r) => r), (r) => {
          const options: Runner.RunOptions = {
            warming: "auto",
            pruning: false,
            provider: "simulated",
            simulatedTime: false,
            idleScale: SCALE,
            sessionIndices: Array.from({ length: sessions }, (_, s) => s).filter((s) => s % replicas === r)
          }
          const registry: Pipeline.Config["registry"] = mode === "redis" ? RedisLoader.layer({ url: redisUrl!, keyPrefix }) : {}
          return Runner.runWorkload(workload, options).pipe(
            Effect.provide(Pipeline.layer({ ...Runner.pipelineConfig(options), registry }).pipe(Layer.provide(provider)))
          )
        }, { concurrency: "unbounded" })
        const sum = (f: (r: Report) => number) => runs.reduce((n, x) => n + f(x.report), 0)
        return {
          registry: mode,
          replicas,
          costUsd: Math.round(sum((r) => r.totalCostUsd ?? 0) * 1e6) / 1e6,
          requests: sum((r) => r.calls.request.count),
          requestHits: sum((r) => r.calls.request.cacheHits),
          cacheWriteTokens: sum((r) => r.calls.request.cacheCreationInputTokens + r.calls.warm.cacheCreationInputTokens),
          warmCalls: sum((r) => r.calls.warm.count)
        } satisfies Result
      }))
      results.push(result)
    }
    return results
  })

/**
 * @since 0.1.0
 * @category benchmarks
 */
export const renderRealTime = (workload: string, results: ReadonlyArray<Result>) =>
  [
    `replicas: ${workload} split over ${results[0]?.replicas ?? 0} pipeline replicas sharing one provider cache (real time, latencies ×${SCALE})`,
    ...results.map((r) =>
      `  ${r.registry.padEnd(9)}  cost $${r.costUsd.toFixed(4)}  requests ${r.requests}  request hits ${r.requestHits}  cache writes ${r.cacheWriteTokens} tokens  warm calls ${r.warmCalls}`
    )
  ].join("\n")

/**
 * One simulated configuration: how many replicas, which registry.
 *
 * @since 0.4.0
 * @category benchmarks
 */
export interface SimulatedRow {
  readonly replicas: number
  /** `separate`: a registry in each replica's memory; `shared`: one, a simulated round trip away */
  readonly registry: "separate" | "shared"
  readonly costUsd: number | null
  readonly requests: number
  readonly cacheWriteTokens: number
  /** cache writes over those of one replica with the same registry */
  readonly writeAmplification: number
  readonly warmCalls: number
}

/**
 * The replica counts a study runs: 1, 2, 4 … up to `max`, and `max`.
 *
 * @since 0.4.0
 * @category benchmarks
 */
export const counts = (max: number): ReadonlyArray<number> => {
  const out: Array<number> = []
  for (let r = 1; r < max; r *= 2) out.push(r)
  out.push(max)
  return out
}

/**
 * The workload split round-robin over 1, 2, 4 … `maxReplicas` pipeline replicas that share one
 * simulated provider cache, each replica with its own in-memory registry, then all with one shared
 * registry (and establishing lock) `registryLatencyMs` away; in virtual time, warming auto.
 *
 * @since 0.4.0
 * @category benchmarks
 */
export const simulate = (
  workload: Workload.Workload,
  maxReplicas: number,
  registryLatencyMs = 1
): Effect.Effect<ReadonlyArray<SimulatedRow>> =>
  Effect.gen(function*() {
    const rows: Array<SimulatedRow> = []
    for (const registry of ["separate", "shared"] as const) {
      let single: number | undefined
      for (const replicas of counts(maxReplicas)) {
        const reports = yield* VirtualTime.run(Effect.scoped(Effect.gen(function*() {
          const provider = Layer.succeedContext(yield* Layer.build(SimulatedProvider.layer({ callLogLimit: 1_000 })))
          const shared = registry === "shared" ? yield* SharedRegistry.make({ latencyMs: registryLatencyMs }) : undefined
          const sessions = workload.sessions ?? 1
          return yield* Effect.forEach(Array.from({ length: replicas }, (_, r) => r), (r) => {
            const options: Runner.RunOptions = {
              warming: "auto",
              pruning: false,
              provider: "simulated",
              simulatedTime: true,
              sessionIndices: Array.from({ length: sessions }, (_, s) => s).filter((s) => s % replicas === r)
            }
            return Runner.runWorkload(workload, options).pipe(
              Effect.provide(Pipeline.layer({ ...Runner.pipelineConfig(options), registry: shared?.layer ?? {} }).pipe(Layer.provide(provider))),
              Effect.map((result) => result.report)
            )
          }, { concurrency: "unbounded" })
        })))
        const sum = (f: (r: Report) => number) => reports.reduce((n, x) => n + f(x), 0)
        const costs = reports.map((r) => r.totalCostUsd)
        const writes = sum((r) => r.calls.request.cacheCreationInputTokens + r.calls.warm.cacheCreationInputTokens)
        single ??= writes
        rows.push({
          replicas,
          registry,
          costUsd: costs.some((c) => c === null) ? null : Math.round(sum((r) => r.totalCostUsd!) * 1e6) / 1e6,
          requests: sum((r) => r.calls.request.count),
          cacheWriteTokens: writes,
          writeAmplification: single === 0 ? 1 : writes / single,
          warmCalls: sum((r) => r.calls.warm.count)
        })
      }
    }
    return rows
  })

/**
 * @since 0.4.0
 * @category rendering
 */
export const renderSimulated = (workload: string, rows: ReadonlyArray<SimulatedRow>, registryLatencyMs: number) =>
  [
    `replicas: ${workload} split over pipeline replicas sharing one provider cache (simulated, virtual time; shared registry ${registryLatencyMs} ms away)`,
    "  replicas  registry        cost  requests  cache writes  write amplification  warm calls",
    ...rows.map((r) =>
      `  ${String(r.replicas).padStart(8)}  ${r.registry.padEnd(8)}  ${(r.costUsd === null ? "unknown" : `$${r.costUsd.toFixed(4)}`).padStart(10)}  ${
        String(r.requests).padStart(8)
      }  ${String(r.cacheWriteTokens).padStart(12)}  ${`${r.writeAmplification.toFixed(2)}×`.padStart(19)}  ${String(r.warmCalls).padStart(10)}`
    )
  ].join("\n")
