/**
 * `bench`: the strategies side by side on the same workload(s), plus the framework benchmarks.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Overhead from "../bench/Overhead.js"
import * as ProxyBenchmark from "../bench/ProxyBenchmark.js"
import * as PrunerBenchmark from "../bench/PrunerBenchmark.js"
import * as PruningComparison from "../bench/PruningComparison.js"
import * as Replicas from "../bench/Replicas.js"
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
  /** also split the workload over N replicas: N in-memory registries against one shared Redis */
  readonly replicas?: Option.Option<number> | undefined
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
      for (const name of names) {
        const workload = yield* loadWorkload(name, cmd.model, prices)
        const r = yield* Replicas.run(workload, cmd.replicas.value, redisUrl)
        yield* Console.log(Replicas.render(workload.name, r, redisUrl !== undefined))
      }
    }
    if (cmd.proxy === true) {
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
