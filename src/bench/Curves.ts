/**
 * The scale study's curves, drawn with Vega-Lite like the cost chart: write amplification against
 * replicas (a registry per replica, and one shared), and cost per 1,000 users against the arrival
 * rate (warming off, auto, auto with keep-alive).
 *
 * @since 0.4.0
 */
import type * as Effect from "effect/Effect"
import type { ChartError } from "./Chart.js"
import * as Chart from "./Chart.js"
import type { SimulatedRow } from "./Replicas.js"
import type { RatePoint } from "./Scale.js"

/**
 * The replica study of one workload.
 *
 * @since 0.4.0
 * @category models
 */
export interface ReplicaCurve {
  readonly workload: string
  readonly sessions: number
  readonly rows: ReadonlyArray<SimulatedRow>
}

/**
 * @since 0.4.0
 * @category specs
 */
export const spec = (input: {
  readonly replicas?: ReplicaCurve | undefined
  readonly rates?: ReadonlyArray<RatePoint> | undefined
}) => {
  const panels: Array<object> = []
  if (input.replicas !== undefined) {
    panels.push({
      width: 330,
      height: 210,
      title: `${input.replicas.workload}: write amplification vs replicas`,
      data: { values: input.replicas.rows.map((r) => ({ replicas: r.replicas, registry: r.registry, amplification: r.writeAmplification })) },
      mark: { type: "line", point: { size: 30 }, strokeWidth: 2 },
      encoding: {
        x: { field: "replicas", type: "quantitative", title: "replicas", scale: { type: "log", base: 2 }, axis: { values: input.replicas.rows.map((r) => r.replicas), format: "d" } },
        y: { field: "amplification", type: "quantitative", title: "cache writes / one replica's", axis: { format: ".1f" } },
        color: { field: "registry", type: "nominal", title: "registry" },
        strokeDash: { field: "registry", type: "nominal", title: "registry" }
      }
    })
  }
  if (input.rates !== undefined) {
    panels.push({
      width: 330,
      height: 210,
      title: "cost per 1,000 users vs arrival rate",
      data: { values: input.rates.filter((p) => p.costPerThousandUsd !== null).map((p) => ({ rate: p.perSecond, strategy: p.strategy, cost: p.costPerThousandUsd })) },
      mark: { type: "line", point: { size: 30 }, strokeWidth: 2 },
      encoding: {
        x: { field: "rate", type: "quantitative", title: "users arriving per second", scale: { type: "log" }, axis: { format: "~g" } },
        y: { field: "cost", type: "quantitative", title: "USD per 1,000 users", axis: { format: "$.2f" } },
        color: { field: "strategy", type: "nominal", title: "warming" },
        strokeDash: { field: "strategy", type: "nominal", title: "warming" }
      }
    })
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: "scale, simulated: replicas and arrival rates", anchor: "start", fontSize: 15 },
    hconcat: panels,
    resolve: { scale: { color: "independent", strokeDash: "independent" } },
    config: Chart.style
  }
}

/**
 * @since 0.4.0
 * @category rendering
 */
export const svg = (input: Parameters<typeof spec>[0]): Effect.Effect<string, ChartError> => Chart.render(spec(input))
