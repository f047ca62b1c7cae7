import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as CacheMetrics from "../src/CacheMetrics.js"
import * as Pricing from "../src/Pricing.js"
import * as MetricsServer from "../src/cli/MetricsServer.js"
import * as Prometheus from "../src/otel/Prometheus.js"
import Prom from "prom2javascript"
import type { Usage } from "../src/Response.js"

const usage: Usage = { input: 1000, cacheCreation5m: 2000, cacheCreation1h: 3000, cacheRead: 10000, output: 500 }

describe("Pricing", () => {
  // hand-computed: input×1 + 5m×1.25 + 1h×2 + read×0.1 = 1000 + 2500 + 6000 + 1000 = 10,500 input-price units
  const cases: ReadonlyArray<readonly [string, number]> = [
    ["claude-sonnet-4-5", 3 * 10_500 + 15 * 500],
    ["claude-sonnet-4-5-20250929", 3 * 10_500 + 15 * 500],
    ["claude-3-7-sonnet-latest", 3 * 10_500 + 15 * 500],
    ["claude-opus-4-5", 5 * 10_500 + 25 * 500],
    ["claude-opus-4-7", 5 * 10_500 + 25 * 500],
    ["claude-opus-4-1", 15 * 10_500 + 75 * 500],
    ["claude-haiku-4-5", 1 * 10_500 + 5 * 500],
    ["claude-3-5-haiku", 0.8 * 10_500 + 4 * 500],
    ["claude-3-haiku", 0.25 * 10_500 + 1.25 * 500]
  ]
  for (const [model, micros] of cases) {
    it(`prices every usage field for ${model}`, () => {
      const price = Pricing.lookup(Pricing.defaultTable, model)
      expect(price._tag).toBe("Some")
      if (price._tag === "Some") expect(Pricing.costMicros(usage, price.value)).toBeCloseTo(micros, 6)
    })
  }

  it("a 1h write costs 2×, a 5m write 1.25×, a read 0.1× of the input price", () => {
    const sonnet = Pricing.defaultTable["claude-sonnet-4-5"]!
    const one = (u: Partial<Usage>) =>
      Pricing.microsToUsd(Pricing.costMicros({ input: 0, cacheCreation5m: 0, cacheCreation1h: 0, cacheRead: 0, output: 0, ...u }, sonnet))
    expect(one({ cacheCreation1h: 1_000_000 })).toBeCloseTo(6, 9)
    expect(one({ cacheCreation5m: 1_000_000 })).toBeCloseTo(3.75, 9)
    expect(one({ cacheRead: 1_000_000 })).toBeCloseTo(0.3, 9)
    expect(one({ input: 1_000_000 })).toBeCloseTo(3, 9)
    expect(one({ output: 1_000_000 })).toBeCloseTo(15, 9)
  })

  it("no-cache counterfactual prices every prompt token at the base input price", () => {
    expect(Pricing.noCacheCostMicros(usage, Pricing.defaultTable["claude-sonnet-4-5"]!)).toBe(3 * 16_000 + 15 * 500)
  })

  it("a model's own multipliers price its cache reads and writes; the default table keeps 1.25 / 2 / 0.1", () => {
    const price: Pricing.ModelPrice = { input: 10, output: 0, minCacheableTokens: 1024, multipliers: { write5m: 1.25, write1h: 2, read: 0.05 } }
    const reads = { input: 0, cacheCreation5m: 0, cacheCreation1h: 0, cacheRead: 1_000_000, output: 0 }
    expect(Pricing.microsToUsd(Pricing.costMicros(reads, price))).toBeCloseTo(0.5, 9)
    expect(Pricing.make({ "claude-cheap-reads": price }).multipliers("claude-cheap-reads").read).toBe(0.05)
    expect(Pricing.make().multipliers("claude-sonnet-4-5")).toEqual({ write5m: 1.25, write1h: 2, read: 0.1, input: 1 })
  })

  it("the platforms' model ids price as their base model; a platform's own row overrides it there only", () => {
    const base = Pricing.lookup(Pricing.defaultTable, "claude-sonnet-4-6")
    for (const id of ["anthropic.claude-sonnet-4-6-v1:0", "us.anthropic.claude-sonnet-4-6-v1:0", "global.anthropic.claude-sonnet-4-6", "claude-sonnet-4-6@20260101"]) {
      expect(Pricing.lookup(Pricing.defaultTable, id)).toEqual(base)
    }
    const pricing = Pricing.make({ "bedrock:claude-sonnet-4-6": { input: 3.3, output: 16.5, minCacheableTokens: 1024 } })
    expect(pricing.minCacheableTokens("us.anthropic.claude-sonnet-4-6-v1:0")).toBe(1024)
    expect(Pricing.lookup(pricing.table, "anthropic.claude-sonnet-4-6-v1:0").pipe((p) => p._tag === "Some" && p.value.input)).toBe(3.3)
    expect(pricing.minCacheableTokens("claude-sonnet-4-6")).toBe(2048)
    expect(pricing.minCacheableTokens("claude-sonnet-4-6@20260101")).toBe(2048)
  })

  it("minimum cacheable lengths follow the documented table", () => {
    const min = (m: string) => Pricing.defaultTable[m]!.minCacheableTokens
    expect(min("claude-opus-4-5")).toBe(4096)
    expect(min("claude-haiku-4-5")).toBe(4096)
    expect(min("claude-sonnet-4-6")).toBe(2048)
    expect(min("claude-3-5-haiku")).toBe(2048)
    expect(min("claude-sonnet-4-5")).toBe(1024)
    expect(min("claude-opus-4-1")).toBe(1024)
  })
})

const metricsLayer = (overrides: Pricing.PriceTable = {}) =>
  CacheMetrics.layer.pipe(Layer.provide(Pricing.layer(overrides)))

describe("CacheMetrics", () => {
  it.effect("a warm call and its requests land in their own series", () =>
    Effect.gen(function*() {
      const m = yield* CacheMetrics.CacheMetrics
      yield* m.recordCall({
        call: "warm",
        model: "claude-sonnet-4-5",
        usage: { input: 4, cacheCreation5m: 5000, cacheCreation1h: 0, cacheRead: 0, output: 0 },
        latencyMs: 1050
      })
      for (let i = 0; i < 3; i++) {
        yield* m.recordCall({
          call: "request",
          model: "claude-sonnet-4-5",
          usage: { input: 6, cacheCreation5m: 0, cacheCreation1h: 0, cacheRead: 5000, output: 100 },
          latencyMs: 2100 + i,
          timeToBegunMs: 600
        })
      }
      const s = yield* m.snapshot
      expect(s.calls.warm.count).toBe(1)
      expect(s.calls.warm.cacheMisses).toBe(1)
      expect(s.calls.warm.cacheCreation5mInputTokens).toBe(5000)
      expect(s.calls.warm.costUsd).toBeCloseTo((3 * (4 + 6250)) / 1e6, 9)
      expect(s.calls.request.count).toBe(3)
      expect(s.calls.request.cacheHits).toBe(3)
      expect(s.calls.request.hitRateByCalls).toBe(1)
      expect(s.calls.request.hitRateByTokens).toBeCloseTo(5000 / 5006, 9)
      expect(s.calls.request.costUsd).toBeCloseTo((3 * 3 * (6 + 500) + 3 * 15 * 100) / 1e6, 9)
      expect(s.totals.count).toBe(4)
      expect(s.totals.hitRateByTokens).toBeCloseTo(15000 / (5004 + 3 * 5006), 9)
      expect(s.noCacheCostUsd).toBeCloseTo((3 * (5004 + 3 * 5006) + 15 * 300) / 1e6, 9)
      expect(s.savingsUsd).toBeCloseTo(s.noCacheCostUsd! - s.totalCostUsd!, 9)
      expect(s.calls.request.latencyMs.p50).toBe(2101)
      expect(s.calls.request.timeToBegunMs.p50).toBe(600)
    }).pipe(Effect.provide(metricsLayer())))

  it.effect("an unknown model is never priced at zero: cost unknown, with a warning naming it", () =>
    Effect.gen(function*() {
      const m = yield* CacheMetrics.CacheMetrics
      yield* m.recordCall({ call: "request", model: "claude-sonnet-5-1", usage, latencyMs: 1 })
      const s = yield* m.snapshot
      expect(s.totalCostUsd).toBeNull()
      expect(s.calls.request.costUsd).toBeNull()
      expect(s.warnings.join("\n")).toContain("claude-sonnet-5-1")
      expect(s.warnings.join("\n")).toContain("Pricing.layer")
    }).pipe(Effect.provide(metricsLayer())))

  it.effect("a call whose cache writes were not reported: counted as unknown, its kind's cost unknown, never a zero-write cost", () =>
    Effect.gen(function*() {
      const m = yield* CacheMetrics.CacheMetrics
      yield* m.recordCall({ call: "request", model: "claude-sonnet-4-6", usage, latencyMs: 1 })
      const known = yield* m.snapshot
      expect(known.calls.request.costUsd).not.toBeNull()
      expect(known.calls.request.cacheWriteUnknownCalls).toBe(0)
      yield* m.recordCall({ call: "request", model: "claude-sonnet-4-6", usage: { ...usage, cacheCreation5m: 0, cacheCreation1h: 0 }, writesUnknown: true, latencyMs: 1 })
      const s = yield* m.snapshot
      expect(s.calls.request.cacheWriteUnknownCalls).toBe(1)
      expect(s.calls.request.costUsd).toBeNull()
      expect(s.totalCostUsd).toBeNull()
      // the warm calls' figures are not touched
      expect(s.calls.warm.costUsd).toBe(0)
      expect(s.warnings.join("\n")).toContain("cacheWriteUnknownCalls")
    }).pipe(Effect.provide(metricsLayer())))

  it.effect("user overrides price a new model", () =>
    Effect.gen(function*() {
      const m = yield* CacheMetrics.CacheMetrics
      yield* m.recordCall({ call: "request", model: "claude-sonnet-5-1", usage, latencyMs: 1 })
      const s = yield* m.snapshot
      expect(s.totalCostUsd).toBeCloseTo((2 * 10_500 + 10 * 500) / 1e6, 9)
      expect(s.warnings).toEqual([])
    }).pipe(Effect.provide(metricsLayer({ "claude-sonnet-5-1": { input: 2, output: 10, minCacheableTokens: 1024 } }))))

  it.effect("the snapshot round-trips through JSON", () =>
    Effect.gen(function*() {
      const m = yield* CacheMetrics.CacheMetrics
      yield* m.recordCall({ call: "request", model: "claude-opus-4-5", usage, latencyMs: 10 })
      yield* m.recordRetry("request", "Overloaded")
      yield* m.recordFailure("warm", "Timeout")
      yield* m.recordSkippedWarm("single_request")
      yield* m.recordPruned("deduplication", 1234)
      const s = yield* m.snapshot
      expect(JSON.parse(JSON.stringify(s))).toEqual(s)
      expect(s.retries).toEqual({ Overloaded: 1 })
      expect(s.calls.request.retries).toBe(1)
      expect(s.failures).toEqual({ Timeout: 1 })
      expect(s.skippedWarms).toEqual({ single_request: 1 })
      expect(s.prunedTokens).toEqual({ deduplication: 1234 })
    }).pipe(Effect.provide(metricsLayer())))

  it.effect("two concurrent runs in one process do not mix", () =>
    Effect.gen(function*() {
      const run = (n: number, model: string) =>
        Effect.gen(function*() {
          const m = yield* CacheMetrics.CacheMetrics
          yield* Effect.forEach(
            Array.from({ length: n }),
            () => Effect.andThen(Effect.yieldNow(), m.recordCall({ call: "request", model, usage, latencyMs: 5 })),
            { concurrency: "unbounded" }
          )
          return yield* m.snapshot
        }).pipe(Effect.provide(metricsLayer()))
      const [a, b] = yield* Effect.all([run(7, "claude-sonnet-4-5"), run(11, "claude-opus-4-5")], { concurrency: 2 })
      expect(a.calls.request.count).toBe(7)
      expect(b.calls.request.count).toBe(11)
      expect(a.totalCostUsd).toBeCloseTo((7 * (3 * 10_500 + 15 * 500)) / 1e6, 9)
      expect(b.totalCostUsd).toBeCloseTo((11 * (5 * 10_500 + 25 * 500)) / 1e6, 9)
    }))

  it.effect("Prometheus text carries the call kind and token kind, never an unbounded tag", () =>
    Effect.gen(function*() {
      const m = yield* CacheMetrics.CacheMetrics
      yield* m.recordCall({ call: "warm", model: "claude-haiku-4-5-20251001", usage, latencyMs: 80 })
      const text = yield* scrape
      const families = yield* parsePrometheus(text)
      const calls = families["epc_calls_total"]!
      expect(calls.type).toBe("counter")
      expect(samples(calls).some((s) => s.labels.call === "warm" && s.labels.model === "claude-haiku-4-5")).toBe(true)
      expect(samples(families["epc_tokens_total"]!).some((s) => s.labels.kind === "cache_write_1h" && s.labels.call === "warm")).toBe(true)
      expect(families["epc_latency_seconds"]!.type).toBe("histogram")
      expect(text).not.toMatch(/msg_|req_|[0-9a-f]{64}/)
    }).pipe(Effect.provide(metricsLayer())))
})

/** the families of an exposition, read with a text-format parser (prom2javascript) */
const parsePrometheus = (text: string) => Effect.promise(() => Prom.getMetricsFromIterator(text.split("\n")[Symbol.iterator]()))
const samples = (family: Prom.PromMetric) => family.data as ReadonlyArray<Prom.PromData>
const histograms = (family: Prom.PromMetric | undefined) => (family?.data ?? []) as ReadonlyArray<Prom.PromHistogramData>

/** the exposition as OpenTelemetry's Prometheus exporter writes it */
const scrape = Effect.flatMap(Prometheus.PrometheusMetrics, (p) => p.scrape).pipe(Effect.provide(Prometheus.layer()))

describe("Prometheus values, exactly, read back with a text-format parser", () => {
  /** the value of one series (exactly these labels), or undefined when it is absent */
  const valueOf = (families: Prom.PromMetrics, name: string, labels: Record<string, string>): number | undefined => {
    const family = families[name]
    const sample = family === undefined ? undefined : samples(family).find((s) =>
      Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length
    )
    return sample?.value
  }

  it.effect("a known sequence of calls gives known counters: each token kind, the 5m/1h split, cost and the no-cache cost in USD", () =>
    Effect.gen(function*() {
      // a model of its own, so the process-wide counters of this test start at zero
      const model = `claude-prom-test-${Math.random().toString(36).slice(2, 8)}`
      const m = yield* CacheMetrics.CacheMetrics.pipe(
        Effect.provide(metricsLayer({ [model]: { input: 3, output: 15, minCacheableTokens: 1024 } }))
      )
      yield* m.recordCall({ call: "warm", model, usage: { input: 1, cacheCreation5m: 2000, cacheCreation1h: 0, cacheRead: 0, output: 0 }, latencyMs: 10 })
      yield* m.recordCall({ call: "request", model, usage: { input: 7, cacheCreation5m: 0, cacheCreation1h: 300, cacheRead: 2000, output: 50 }, latencyMs: 10 })
      yield* m.recordCall({ call: "request", model, usage: { input: 9, cacheCreation5m: 40, cacheCreation1h: 0, cacheRead: 2000, output: 60 }, latencyMs: 10 })
      const families = yield* Effect.flatMap(scrape, parsePrometheus)
      const series = (name: string, call: string, kind?: string) =>
        valueOf(families, name, { call, ...(kind === undefined ? {} : { kind }), model })
      expect(series("epc_calls_total", "warm")).toBe(1)
      expect(series("epc_calls_total", "request")).toBe(2)
      expect(series("epc_cache_hits_total", "request")).toBe(2)
      expect(series("epc_cache_misses_total", "warm")).toBe(1)
      expect(series("epc_tokens_total", "warm", "cache_write_5m")).toBe(2000)
      expect(series("epc_tokens_total", "warm", "cache_write_1h")).toBeUndefined()
      expect(series("epc_tokens_total", "request", "cache_write_1h")).toBe(300)
      expect(series("epc_tokens_total", "request", "cache_write_5m")).toBe(40)
      expect(series("epc_tokens_total", "request", "cache_read")).toBe(4000)
      expect(series("epc_tokens_total", "request", "input")).toBe(16)
      expect(series("epc_tokens_total", "request", "output")).toBe(110)
      // hand-computed: warm 3 × (1 + 2000 × 1.25) µUSD = $0.007503; requests 3 × (16 + 300 × 2 + 40 × 1.25 + 4000 × 0.1) + 15 × 110 µUSD
      expect(series("epc_cost_usd_total", "warm")).toBeCloseTo(0.007503, 12)
      expect(series("epc_cost_usd_total", "request")).toBeCloseTo(0.004848, 12)
      // no cache: every prompt token at 3 µUSD, output at 15
      expect(series("epc_no_cache_cost_usd_total", "warm")).toBeCloseTo(3 * 2001 / 1e6, 12)
      expect(series("epc_no_cache_cost_usd_total", "request")).toBeCloseTo((3 * (2307 + 2049) + 15 * 110) / 1e6, 12)
    }))

  it.effect("latency histograms are in seconds, their buckets in numeric order; time to first byte counts streamed calls only", () =>
    Effect.gen(function*() {
      const m = yield* CacheMetrics.CacheMetrics
      const histogram = (families: Prom.PromMetrics, name: string) =>
        histograms(families[name]).find((s) => s.labels.call === "request")
      const counts = Effect.map(Effect.flatMap(scrape, parsePrometheus), (families) => ({
        begun: histogram(families, "epc_time_to_response_begun_seconds")?.count ?? 0,
        latency: histogram(families, "epc_latency_seconds")?.count ?? 0
      }))
      const before = yield* counts
      yield* m.recordCall({ call: "request", model: "claude-sonnet-4-5", usage, latencyMs: 900 })
      expect(yield* counts).toEqual({ begun: before.begun, latency: before.latency + 1 })
      yield* m.recordCall({ call: "request", model: "claude-sonnet-4-5", usage, latencyMs: 900, timeToBegunMs: 300 })
      expect(yield* counts).toEqual({ begun: before.begun + 1, latency: before.latency + 2 })
      const text = yield* scrape
      const latency = histogram(yield* parsePrometheus(text), "epc_latency_seconds")!
      expect(latency.buckets["+Inf"]).toBe(latency.count)
      expect(Object.keys(latency.buckets)[0]).toBe("0.05")
      // 0.9 s falls in the 1.6 s bucket and not in the 0.8 s one
      expect(latency.buckets["1.6"]! - latency.buckets["0.8"]!).toBeGreaterThanOrEqual(2)
      // lines in the order the format wants: buckets ascending in the text itself
      const lines = text.split("\n").filter((l) => l.startsWith("epc_latency_seconds_bucket{") && l.includes('call="request"'))
      const les = lines.map((l) => l.match(/le="([^"]+)"/)![1]!).map((v) => (v === "+Inf" ? Infinity : Number(v)))
      expect(les).toEqual([...les].sort((a, b) => a - b))
    }).pipe(Effect.provide(metricsLayer())))
})

describe("the Prometheus endpoint", () => {
  it.live("serves the epc_* metrics on GET /metrics, parseable as the text format", () =>
    Effect.gen(function*() {
      const m = yield* CacheMetrics.CacheMetrics
      yield* m.recordCall({ call: "request", model: "claude-sonnet-4-6", usage, latencyMs: 12 })
      const port = yield* MetricsServer.serveMetrics(0)
      const response = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/metrics`))
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
      const families = yield* parsePrometheus(yield* Effect.promise(() => response.text()))
      expect(samples(families["epc_calls_total"]!).some((s) =>
        s.labels.call === "request" && s.labels.model === "claude-sonnet-4-6" && s.value >= 1
      )).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(metricsLayer())))
})
