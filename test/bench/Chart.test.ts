import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Chart from "../../src/bench/Chart.js"

const workloads: ReadonlyArray<Chart.ChartWorkload> = [
  { workload: "a", series: [{ label: "off", values: [1, 2, 3] }, { label: "auto", values: [0.5, 0.25, 0.25] }] },
  { workload: "b", series: [{ label: "off", values: [0.01, 0.02] }] }
]

describe("Chart", () => {
  it("plots the running total beside each turn's cost", () => {
    expect(Chart.rows(workloads).filter((r) => r.workload === "a" && r.strategy === "off")).toEqual([
      { workload: "a", strategy: "off", turn: 1, cost: 1, cumulative: 1 },
      { workload: "a", strategy: "off", turn: 2, cost: 2, cumulative: 3 },
      { workload: "a", strategy: "off", turn: 3, cost: 3, cumulative: 6 }
    ])
  })

  it("draws every workload, each with a cumulative and a per-turn panel", () => {
    const spec = Chart.spec("t", workloads)
    expect(spec.vconcat).toHaveLength(2)
    expect(spec.vconcat.map((row) => row.hconcat.map((panel) => panel.title))).toEqual([
      ["a: cumulative cost", "a: cost per turn"],
      ["b: cumulative cost", "b: cost per turn"]
    ])
  })

  it.effect("renders to SVG with every panel and every strategy's label", () =>
    Effect.gen(function*() {
      const svg = yield* Chart.svg("cost by strategy", workloads)
      expect(svg).toMatch(/^<svg/)
      for (const text of ["cost by strategy", "a: cumulative cost", "b: cost per turn", "off", "auto"]) expect(svg).toContain(text)
    }))
})
