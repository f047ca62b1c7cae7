/**
 * Replicas: one provider cache, N pipeline replicas, with N in-memory registries or one shared Redis.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Pipeline from "../Pipeline.js"
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
export const run = (workload: Workload.Workload, replicas: number, redisUrl: string | undefined) =>
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
export const render = (workload: string, results: ReadonlyArray<Result>, redis: boolean) =>
  [
    `replicas: ${workload} split over ${results[0]?.replicas ?? 0} pipeline replicas sharing one provider cache (real time, latencies ×${SCALE})`,
    ...results.map((r) =>
      `  ${r.registry.padEnd(9)}  cost $${r.costUsd.toFixed(4)}  requests ${r.requests}  request hits ${r.requestHits}  cache writes ${r.cacheWriteTokens} tokens  warm calls ${r.warmCalls}`
    ),
    ...(redis ? [] : ["  (set REDIS_URL to compare with one shared Redis registry)"])
  ].join("\n")
