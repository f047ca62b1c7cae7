/**
 * `bench`: the strategies side by side on the same workload(s), plus the framework benchmarks.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Overhead from "../bench/Overhead.js"
import * as PrunerBenchmark from "../bench/PrunerBenchmark.js"
import * as PruningComparison from "../bench/PruningComparison.js"
import * as Replicas from "../bench/Replicas.js"
import * as Scale from "../bench/Scale.js"
import * as Curves from "../bench/Curves.js"
import type { Report } from "../bench/Report.js"
import * as Chart from "../bench/Chart.js"
import { renderBench } from "../bench/Report.js"
import * as Runner from "../bench/Runner.js"
import * as Workload from "../bench/Workload.js"
import type * as Pricing from "../Pricing.js"
import { access, constants, writeFile } from "node:fs/promises"
import { dirname, resolve } from "node:path"
import { UsageError } from "./CliError.js"
import { printable } from "./Output.js"
import { isTTY, progressLine } from "./Progress.js"
import type { ProviderName } from "./Providers.js"
import { clocked, keyManagement, loadPrices, loadWorkload, providerLayer } from "./Providers.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Args {
  /** a workload name or file, or `all` for every built-in */
  readonly workload: string
  readonly provider: ProviderName
  readonly model: Option.Option<string>
  readonly prices: Option.Option<string>
  readonly json: boolean
  /** idle gaps × this (default 1) */
  readonly timeScale?: number | undefined
  readonly chart: Option.Option<string>
  /** also run `auto` with keep-alive */
  readonly keepAlive: boolean
  readonly overhead: boolean
  /** also measure the proxy: added latency, throughput, concurrent streams */
  readonly proxy?: boolean | undefined
  readonly pruner: boolean
  /** OpenAI models: `prompt_cache_key` management (default sharded) */
  readonly promptCacheKey?: "sharded" | "single" | "off" | undefined
  /** also split the workload over 1, 2, 4 … N replicas in simulation (and over N against Redis with REDIS_URL) */
  readonly replicas?: Option.Option<number> | undefined
  /** the shared registry's simulated round trip in the replica study, ms (default 1) */
  readonly registryLatencyMs?: number | undefined
  /** the scale study: multi-user-day at 1,000 to 100,000 users, and cost against arrival rate */
  readonly scale?: boolean | undefined
  /** write the replica and arrival-rate curves as an SVG */
  readonly curves?: Option.Option<string> | undefined
}

const benchOne = (workload: Workload.Workload, cmd: Args, prices: Pricing.PriceTable) =>
  Effect.gen(function*() {
    const configs: Array<Pick<Runner.RunOptions, "warming" | "pruning" | "keepAlive">> = [...Runner.strategies]
    if (cmd.keepAlive) configs.push({ warming: "auto", pruning: true, keepAlive: true })
    const results: Array<{ report: Report; turnCostsUsd: ReadonlyArray<number> }> = []
    for (const c of configs) {
      const options: Runner.RunOptions = {
        ...c,
        prices,
        provider: cmd.provider,
        simulatedTime: cmd.provider === "simulated",
        idleScale: cmd.timeScale ?? 1
      }
      if (isTTY()) process.stderr.write(`  ${workload.name}: ${c.warming}, pruning ${c.pruning ? "on" : "off"}${c.keepAlive ? ", keep-alive" : ""}\n`)
      const provider = providerLayer(cmd.provider, { openaiKeys: keyManagement(cmd.promptCacheKey) })
      results.push(yield* clocked(cmd.provider, Runner.run(workload, options, provider, progressLine)))
    }
    return results
  })

/** the file can be created or replaced: its folder exists and may be written */
const writable = (flag: string, path: string) =>
  Effect.tryPromise(() => access(dirname(resolve(path)), constants.W_OK)).pipe(
    Effect.mapError(() => new UsageError({ detail: `${flag} ${printable(path)}: cannot write there (no such folder, or no permission)` }))
  )

/**
 * `bench`: the strategies side by side on the same workload(s), plus the framework benchmarks.
 *
 * @since 0.1.0
 * @category commands
 */
export const handle = (cmd: Args) =>
  Effect.gen(function*() {
    // an output that cannot be written is found before the benchmark runs, not after
    if (Option.isSome(cmd.chart)) yield* writable("--chart", cmd.chart.value)
    const curvesFile = cmd.curves !== undefined && Option.isSome(cmd.curves) ? cmd.curves.value : undefined
    if (curvesFile !== undefined) {
      yield* writable("--curves", curvesFile)
      if (cmd.scale !== true && (cmd.replicas === undefined || Option.isNone(cmd.replicas))) {
        return yield* Effect.fail(new UsageError({ detail: "--curves draws the scale study: give it --scale, --replicas N, or both" }))
      }
    }
    const curves: { replicas?: Curves.ReplicaCurve; rates?: ReadonlyArray<Scale.RatePoint> } = {}
    // first, while the process is fresh: its memory is part of what it measures
    if (cmd.scale === true) {
      yield* Console.log(Scale.render(yield* Scale.run()) + "\n")
      const rates = yield* Scale.arrivalSweep()
      yield* Console.log(Scale.renderSweep(rates) + "\n")
      curves.rates = rates
    }
    const prices = yield* loadPrices(cmd.prices)
    const names = cmd.workload === "all" ? Workload.builtinNames : [cmd.workload]
    if (cmd.provider !== "simulated") {
      // the simulator starts each configuration with a cold cache; the real API has one cache for all
      yield* Console.error(
        `note: with --provider ${cmd.provider} every configuration shares the API's one cache: the first may warm it for the others`
      )
    }
    const documents: Array<{ workload: string; results: ReadonlyArray<Report> }> = []
    const charts: Array<{ workload: string; series: Array<{ label: string; values: ReadonlyArray<number> }> }> = []
    for (const name of names) {
      const workload = yield* loadWorkload(name, cmd.model, prices)
      const results = yield* benchOne(workload, cmd, prices)
      documents.push({ workload: workload.name, results: results.map((r) => r.report) })
      charts.push({
        workload: workload.name,
        series: results.map((r) => ({
          label: `${r.report.warming}, pruning ${r.report.pruning}${r.report.details.keepAlive ? ", keep-alive" : ""}`,
          values: r.turnCostsUsd
        }))
      })
      if (!cmd.json) yield* Console.log(renderBench(results.map((r) => r.report)) + "\n")
    }
    if (cmd.json) yield* Console.log(JSON.stringify(documents.length === 1 ? documents[0] : documents, null, 2))
    if (Option.isSome(cmd.chart)) {
      // every workload: a row of panels each (cumulative cost, cost per turn)
      const svg = yield* Chart.svg(`cost by strategy · ${cmd.provider}`, charts)
      yield* Effect.tryPromise(() => writeFile(cmd.chart.pipe(Option.getOrThrow), svg)).pipe(
        Effect.mapError(() => new UsageError({ detail: `--chart: cannot write ${Option.getOrThrow(cmd.chart)}` }))
      )
      if (!cmd.json) yield* Console.log(`chart written to ${Option.getOrThrow(cmd.chart)}`)
    }
    if (cmd.replicas !== undefined && Option.isSome(cmd.replicas)) {
      const redisUrl = process.env.REDIS_URL === "" ? undefined : process.env.REDIS_URL
      const latency = cmd.registryLatencyMs ?? 1
      for (const name of names) {
        const workload = yield* loadWorkload(name, cmd.model, prices)
        const rows = yield* Replicas.simulate(workload, cmd.replicas.value, latency)
        yield* Console.log(Replicas.renderSimulated(workload.name, rows, latency))
        // the curve is drawn for the workload with the most sessions (one session cannot be split)
        if (curves.replicas === undefined || (workload.sessions ?? 1) > curves.replicas.sessions) {
          curves.replicas = { workload: workload.name, rows, sessions: workload.sessions ?? 1 }
        }
        // against a real Redis, in real time: workloads whose sessions arrive over hours are left to the simulation
        if (redisUrl !== undefined && workload.arrivals === undefined) {
          yield* Console.log(Replicas.renderRealTime(workload.name, yield* Replicas.realTime(workload, cmd.replicas.value, redisUrl)))
        }
      }
      if (redisUrl === undefined) yield* Console.log("(set REDIS_URL to compare, in real time, N in-memory registries with one shared Redis)")
    }
    if (curvesFile !== undefined) {
      const picture = yield* Curves.svg(curves)
      yield* Effect.tryPromise(() => writeFile(curvesFile, picture)).pipe(
        Effect.mapError(() => new UsageError({ detail: `--curves: cannot write ${printable(curvesFile)}` }))
      )
      if (!cmd.json) yield* Console.log(`curves written to ${curvesFile}`)
    }
    if (cmd.proxy === true) {
      // imported only here: the proxy, its HTTP server and the SDKs it is measured with
      const ProxyBenchmark = yield* Effect.promise(() => import("../bench/ProxyBenchmark.js"))
      yield* Console.log(ProxyBenchmark.render(yield* ProxyBenchmark.run()))
    }
    if (cmd.overhead) {
      const o = yield* Overhead.run()
      yield* Console.log(Overhead.render(o))
    }
    if (cmd.pruner) {
      const p = yield* PrunerBenchmark.run()
      yield* Console.log(PrunerBenchmark.render(p))
      // the pruner against its baselines and its oracle, on the built-in and generated workloads
      yield* Console.log("")
      yield* Console.log(PruningComparison.render(yield* PruningComparison.run()))
    }
  })
