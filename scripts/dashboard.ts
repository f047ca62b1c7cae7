/**
 * Renders docs/grafana/effect-prompt-cache.json's panels from a real run, faithfully without Grafana
 * (not packaged for Debian): the library's metrics are served as Prometheus text, a real Prometheus
 * (Debian's `prometheus`) scrapes them every second while workloads run in real time on the simulator
 * — warming off, then `auto` with the first request leading, then `auto` with a warm call —, each
 * panel's own PromQL (read from the dashboard JSON,
 * `$__rate_interval` set to the window below) is evaluated by that Prometheus over the run
 * (`/api/v1/query_range`), and the results are drawn with Vega-Lite, one chart per panel, to SVG and
 * PNG (`rsvg-convert`). `promtool check rules` checks every expression first.
 *
 *   npx tsx scripts/dashboard.ts [docs/dashboard.png]
 *
 * Needs `prometheus` and `promtool` (apt install prometheus), `rsvg-convert` (librsvg2-bin), and the
 * dev dependencies (vega, vega-lite, @effect/opentelemetry, @opentelemetry/exporter-prometheus).
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Runner from "../src/bench/Runner.js"
import * as Workload from "../src/bench/Workload.js"
import * as Prometheus from "../src/otel/Prometheus.js"
import * as SimulatedProvider from "../src/simulator/SimulatedProvider.js"

const out = process.argv[2] ?? "docs/dashboard.png"
const RATE_WINDOW = "15s"
const dashboard = JSON.parse(readFileSync("docs/grafana/effect-prompt-cache.json", "utf8")) as {
  readonly panels: ReadonlyArray<{ readonly title: string; readonly targets: ReadonlyArray<{ readonly expr: string; readonly legendFormat: string }> }>
}
const exprOf = (expr: string) => expr.replaceAll("$__rate_interval", RATE_WINDOW)

// 1. every expression is valid PromQL
const dir = mkdtempSync(join(tmpdir(), "epc-dashboard-"))
const rules = dashboard.panels.flatMap((p, i) => p.targets.map((t, j) => `      - record: panel_${i}_${j}\n        expr: '${exprOf(t.expr).replaceAll("'", "''")}'`))
writeFileSync(join(dir, "rules.yml"), `groups:\n  - name: dashboard\n    rules:\n${rules.join("\n")}\n`)
execFileSync("promtool", ["check", "rules", join(dir, "rules.yml")], { stdio: "inherit" })

const main = Effect.gen(function*() {
  // 2. the metrics, as Prometheus text, on a port of their own
  const metrics = yield* Effect.provide(Prometheus.PrometheusMetrics, Prometheus.layer())
  const server = createServer((_req, res) => {
    Effect.runPromise(metrics.scrape).then((text) => res.writeHead(200, { "content-type": Prometheus.contentType }).end(text))
  })
  yield* Effect.promise(() => new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready)))
  const metricsPort = (server.address() as AddressInfo).port

  // 3. a real Prometheus scraping them every second
  writeFileSync(join(dir, "prometheus.yml"), [
    "global:",
    "  scrape_interval: 1s",
    "scrape_configs:",
    "  - job_name: effect-prompt-cache",
    "    static_configs:",
    `      - targets: ["127.0.0.1:${metricsPort}"]`
  ].join("\n"))
  const promPort = 19090 + Math.floor(Math.random() * 500)
  const prometheus = spawn("prometheus", [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`
  ], { stdio: "ignore" })
  const api = `http://127.0.0.1:${promPort}`
  yield* Effect.promise(async () => {
    for (;;) {
      const ok = await fetch(`${api}/-/ready`).then((r) => r.ok, () => false)
      if (ok) return
      await new Promise((r) => setTimeout(r, 200))
    }
  })

  // 4. the workloads, in real time on the simulator: warming off; auto, the first request leading;
  // auto, a warm call leading (so warm calls show) — a pause around each
  const phases: Array<{ readonly label: string; readonly from: number; readonly to: number }> = []
  const pause = Effect.promise(() => new Promise((r) => setTimeout(r, 15_000)))
  const started = Date.now()
  yield* pause
  const runs = [
    { label: "warming off", warming: "off", method: "first-request" },
    { label: "auto", warming: "auto", method: "first-request" },
    { label: "auto, warm calls", warming: "auto", method: "warm-call" }
  ] as const
  for (const { label, method, warming } of runs) {
    const from = Date.now()
    yield* Effect.all(["agent-session", "multi-user-burst"].map((name) =>
      Runner.run(Option.getOrThrow(Workload.builtin(name)), { warming, method, pruning: true, provider: "simulated", simulatedTime: false }, SimulatedProvider.layer())
    ), { concurrency: "unbounded" })
    phases.push({ label, from, to: Date.now() })
    console.error(`${label}: ${((Date.now() - from) / 1000).toFixed(0)} s`)
    yield* pause
  }
  const ended = Date.now()

  // 5. each panel's queries, evaluated by Prometheus over the run
  const rows: Array<{ panel: string; series: string; t: number; v: number }> = []
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      const url = `${api}/api/v1/query_range?${new URLSearchParams({
        query: exprOf(target.expr),
        start: String(started / 1000),
        end: String(ended / 1000),
        step: "2"
      })}`
      const body = yield* Effect.promise(() => fetch(url).then((r) => r.json() as Promise<{ data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } }>))
      for (const series of body.data.result) {
        const name = target.legendFormat.replace(/\{\{(\w+)\}\}/g, (_, k: string) => series.metric[k] ?? "")
        for (const [t, v] of series.values) {
          const value = Number(v)
          if (Number.isFinite(value)) rows.push({ panel: panel.title, series: name, t: (t * 1000 - started) / 1000, v: value })
        }
      }
    }
  }
  prometheus.kill("SIGTERM")
  server.close()

  // 6. one chart per panel, as the dashboard lays them out (two columns)
  const [vega, vl] = yield* Effect.promise(() => Promise.all([import("vega"), import("vega-lite")]))
  const marks = phases.map((p) => ({ x: (p.from - started) / 1000, x2: (p.to - started) / 1000, label: p.label }))
  const x = { field: "x", type: "quantitative", scale: { domain: [0, Math.ceil((ended - started) / 1000)] } } as const
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: "effect-prompt-cache — dashboard panels from a real run (Prometheus over the library's metrics)", fontSize: 15 },
    columns: 2,
    concat: dashboard.panels.map((panel) => ({
      title: panel.title,
      width: 420,
      height: 170,
      layer: [
        {
          data: { values: marks },
          mark: { type: "rect", opacity: 0.08, color: "#555" },
          encoding: { x, x2: { field: "x2" } }
        },
        {
          data: { values: marks },
          mark: { type: "text", align: "left", dx: 3, dy: 8, baseline: "top", fontSize: 10, color: "#444" },
          encoding: { x, y: { value: 0 }, text: { field: "label" } }
        },
        {
          data: { values: rows.filter((r) => r.panel === panel.title) },
          mark: { type: "line", interpolate: "step-after" },
          encoding: {
            x: { ...x, field: "t", title: "seconds since the start" },
            y: { field: "v", type: "quantitative", title: null },
            color: { field: "series", type: "nominal", title: null, legend: { orient: "bottom", columns: 3, labelLimit: 260 } }
          }
        }
      ],
      resolve: { scale: { color: "independent" } }
    })),
    resolve: { scale: { color: "independent", y: "independent" }, legend: { color: "independent" } },
    config: { background: "white", view: { stroke: "#ddd" } }
  }
  const compiled = vl.compile(spec as never).spec
  const svg = yield* Effect.promise(() => new vega.View(vega.parse(compiled), { renderer: "none" }).toSVG())
  const svgPath = join(dir, "dashboard.svg")
  writeFileSync(svgPath, svg)
  execFileSync("rsvg-convert", ["-b", "white", "-o", out, svgPath])
  writeFileSync(join(dir, "rows.json"), JSON.stringify({ phases, rows }))
  console.error(`${out}: ${rows.length} points over ${((ended - started) / 1000).toFixed(0)} s; data in ${join(dir, "rows.json")}`)
})

Effect.runPromise(main).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    rmSync(dir, { recursive: true, force: true })
    process.exit(1)
  }
)
