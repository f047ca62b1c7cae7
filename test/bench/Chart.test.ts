import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Chart from "../../src/bench/Chart.js"
import * as Curves from "../../src/bench/Curves.js"
import type * as Scale from "../../src/bench/Scale.js"

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

describe("the scale study's curves", () => {
  const replicas: Curves.ReplicaCurve = {
    workload: "burst",
    sessions: 40,
    rows: [1, 2].flatMap((replicas) =>
      (["separate", "shared"] as const).map((registry) => ({
        replicas,
        registry,
        costUsd: 1,
        requests: 80,
        cacheWriteTokens: registry === "shared" ? 100 : 100 * replicas,
        writeAmplification: registry === "shared" ? 1 : replicas,
        warmCalls: 0
      }))
    )
  }
  const rates: ReadonlyArray<Scale.RatePoint> = [0.01, 1].flatMap((perSecond) =>
    (["off", "auto", "auto+keep-alive"] as const).map((strategy) => ({
      perSecond,
      strategy,
      sessions: 10,
      costPerThousandUsd: perSecond === 1 ? 10 : strategy === "auto+keep-alive" ? 20 : 30,
      hitRateTokens: 0.9
    }))
  )

  it("one panel per study given, each with its points", () => {
    const both = Curves.spec({ replicas, rates })
    expect(both.hconcat.map((p) => (p as { title: string }).title)).toEqual([
      "burst: write amplification vs replicas",
      "cost per 1,000 users vs arrival rate"
    ])
    const [amplification, cost] = both.hconcat as ReadonlyArray<{ data: { values: ReadonlyArray<unknown> } }>
    expect(amplification!.data.values).toContainEqual({ replicas: 2, registry: "separate", amplification: 2 })
    expect(cost!.data.values).toContainEqual({ rate: 0.01, strategy: "auto+keep-alive", cost: 20 })
    expect(Curves.spec({ rates }).hconcat).toHaveLength(1)
  })

  it.effect("renders to SVG with both titles and every series' label", () =>
    Effect.gen(function*() {
      const svg = yield* Curves.svg({ replicas, rates })
      for (const text of ["write amplification vs replicas", "cost per 1,000 users vs arrival rate", "separate", "shared", "auto+keep-alive"]) {
        expect(svg).toContain(text)
      }
    }))
})
