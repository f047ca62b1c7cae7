/**
 * The `--chart` picture, drawn with Vega-Lite (compiled to Vega and rendered to SVG on the server,
 * no browser): per workload, the cumulative cost of each strategy over the turns — the panel that
 * shows the winner — beside the cost of each turn. Strategies are told apart by colour and by dash,
 * so lines that coincide stay visible.
 *
 * `vega` and `vega-lite` are optional peer dependencies, imported only when a chart is asked for.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category models
 */
export interface ChartSeries {
  readonly label: string
  /** USD per turn index */
  readonly values: ReadonlyArray<number>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ChartWorkload {
  readonly workload: string
  readonly series: ReadonlyArray<ChartSeries>
}

/**
 * The chart could not be drawn: its libraries are missing, or rendering failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ChartError extends Schema.TaggedError<ChartError>("effect-prompt-cache/ChartError")("ChartError", {
  detail: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `--chart: ${this.detail}`
  }
}

/**
 * The rows the chart plots: one per workload, strategy and turn, with the running total.
 *
 * @since 0.1.0
 * @category data
 */
export const rows = (workloads: ReadonlyArray<ChartWorkload>) =>
  workloads.flatMap(({ series, workload }) =>
    series.flatMap(({ label, values }) => {
      let total = 0
      return values.map((cost, i) => {
        total += cost
        return { workload, strategy: label, turn: i + 1, cost, cumulative: total }
      })
    })
  )

/**
 * The Vega-Lite specification: a row per workload, each with the cumulative and the per-turn panel.
 *
 * @since 0.1.0
 * @category specs
 */
export const spec = (title: string, workloads: ReadonlyArray<ChartWorkload>) => {
  const data = rows(workloads)
  const row = (workload: string) => {
    const mine = data.filter((r) => r.workload === workload)
    const turns = Math.max(1, ...mine.map((r) => r.turn))
    // a tick on each turn when there are few; every 2nd, 5th … when there are many
    const step = [1, 2, 5, 10, 20, 50, 100].find((k) => turns / k <= 12) ?? Math.ceil(turns / 12)
    const ticks = Array.from({ length: Math.floor(turns / step) }, (_, i) => (i + 1) * step).filter((t) => t >= 1)
    const xValues = step === 1 ? Array.from({ length: turns }, (_, i) => i + 1) : [1, ...ticks.filter((t) => t > 1)]
    const panel = (field: "cumulative" | "cost", heading: string) => {
      const top = Math.max(0, ...mine.map((r) => r[field]))
      // enough decimals that neighbouring ticks read differently
      const decimals = top <= 0 ? 2 : Math.max(2, Math.ceil(-Math.log10(top / 5)) + 1)
      return {
        width: 330,
        height: 190,
        title: heading,
        mark: { type: "line", point: { size: 18 }, strokeWidth: 2 },
        encoding: {
          x: {
            field: "turn",
            type: "quantitative",
            title: "turn",
            scale: { domain: [1, Math.max(2, turns)], nice: false },
            axis: { values: xValues, format: "d" }
          },
          y: { field, type: "quantitative", title: "USD", axis: { format: `$.${decimals}f`, tickCount: 5 } },
          color: { field: "strategy", type: "nominal", title: "strategy" },
          strokeDash: { field: "strategy", type: "nominal", title: "strategy" },
          tooltip: [{ field: "strategy" }, { field: "turn" }, { field, format: "$.4f" }]
        }
      }
    }
    return {
      transform: [{ filter: { field: "workload", equal: workload } }],
      hconcat: [panel("cumulative", `${workload}: cumulative cost`), panel("cost", `${workload}: cost per turn`)]
    }
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: title, anchor: "start", fontSize: 15 },
    data: { values: data },
    vconcat: workloads.map(({ workload }) => row(workload)),
    resolve: { scale: { color: "shared", strokeDash: "shared" } },
    config: { ...style, legend: { ...style.legend, columns: 3, labelLimit: 320 } }
  }
}

/**
 * The charts' look: white, sans-serif, legends below with line symbols.
 *
 * @since 0.4.0
 * @category specs
 */
export const style = {
  font: "sans-serif",
  view: { stroke: "#ddd" },
  background: "white",
  padding: 12,
  legend: { orient: "bottom", symbolType: "stroke", symbolStrokeWidth: 2.5, symbolSize: 400 }
} as const

/**
 * The chart as an SVG document.
 *
 * @since 0.1.0
 * @category rendering
 */
export const svg = (title: string, workloads: ReadonlyArray<ChartWorkload>): Effect.Effect<string, ChartError> =>
  render(spec(title, workloads))

/**
 * Any Vega-Lite specification as an SVG document.
 *
 * @since 0.4.0
 * @category rendering
 */
export const render = (vegaLite: object): Effect.Effect<string, ChartError> =>
  Effect.gen(function*() {
    const [vega, vl] = yield* Effect.tryPromise({
      try: () => Promise.all([import("vega"), import("vega-lite")]),
      catch: () => new ChartError({ detail: "drawing a chart needs the optional packages vega and vega-lite (npm install vega@5 vega-lite@5)" })
    })
    return yield* Effect.tryPromise({
      try: () => {
        const compiled = vl.compile(vegaLite as Parameters<typeof vl.compile>[0]).spec
        return new vega.View(vega.parse(compiled), { renderer: "none" }).toSVG()
      },
      catch: (e) => new ChartError({ detail: `rendering failed: ${e instanceof Error ? e.message : String(e)}` })
    })
  })
