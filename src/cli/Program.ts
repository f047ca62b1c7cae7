/**
 * What the command-line program does, as library calls: `run` one configuration, `bench` the
 * strategies side by side, `serve` the simulator over HTTP, and the framework benchmarks. `Cli.ts` only
 * parses arguments and calls these.
 *
 * @since 0.1.0
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as ConfigError from "effect/ConfigError"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { readFile, writeFile } from "node:fs/promises"
import { createServer } from "node:http"
import * as AnthropicProvider from "../anthropic/AnthropicProvider.js"
import * as CacheMetrics from "../CacheMetrics.js"
import type * as CacheWarmer from "../CacheWarmer.js"
import * as ContextPruner from "../ContextPruner.js"
import { formatParseError } from "../internal/format.js"
import { tokensFrom } from "../internal/pruneRules.js"
import type { LanguageModelService } from "../LanguageModel.js"
import { LanguageModel } from "../LanguageModel.js"
import * as Pipeline from "../Pipeline.js"
import * as Pricing from "../Pricing.js"
import type { MessagesRequest } from "../Prompt.js"
import type { AuthenticationError } from "../ProviderError.js"
import type { Report } from "../bench/Report.js"
import { renderBench, renderText, svgChart } from "../bench/Report.js"
import * as RedisRegistry from "../redis/RedisRegistry.js"
import * as Runner from "../bench/Runner.js"
import * as SimulatedProvider from "../simulator/SimulatedProvider.js"
import * as SimulatorServer from "../simulator/SimulatorServer.js"
import * as Soak from "../bench/Soak.js"
import * as VirtualTime from "../simulator/VirtualTime.js"
import * as Workload from "../bench/Workload.js"

/**
 * Bad arguments or files given to the program.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Schema.TaggedError<UsageError>("effect-prompt-cache/UsageError")("UsageError", {
  detail: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.detail
  }
}

/**
 * Some requests failed after their retries.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestsFailed extends Schema.TaggedError<RequestsFailed>("effect-prompt-cache/RequestsFailed")(
  "RequestsFailed",
  {
    failed: Schema.Number,
    byError: Schema.Record({ key: Schema.String, value: Schema.Number }),
    first: Schema.NullOr(Schema.String)
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const by = Object.entries(this.byError).map(([k, v]) => `${k} ${v}`).join(", ")
    return `${this.failed} request(s) failed after their retries${by === "" ? "" : ` (${by})`}` +
      (this.first === null ? "" : `; first: ${this.first}`)
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export type ProviderName = "simulated" | "anthropic"

/**
 * Reads a price file: `{ "model-id": { "input": 3, "output": 15, "minCacheableTokens": 1024 } }`.
 *
 * @since 0.1.0
 * @category config
 */
export const loadPrices = (path: Option.Option<string>): Effect.Effect<Pricing.PriceTable, UsageError> =>
  Option.match(path, {
    onNone: () => Effect.succeed({}),
    onSome: (file) =>
      Effect.gen(function*() {
        const text = yield* Effect.tryPromise(() => readFile(file, "utf8")).pipe(
          Effect.mapError(() => new UsageError({ detail: `--prices ${file}: cannot read the file` }))
        )
        const json = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => e }).pipe(
          Effect.mapError((e) => new UsageError({ detail: `--prices ${file}: not JSON: ${e instanceof Error ? e.message : String(e)}` }))
        )
        return yield* Schema.decodeUnknown(Pricing.PriceTable)(json).pipe(
          Effect.mapError((e) => new UsageError({ detail: `--prices ${file}: ${formatParseError(e)}` }))
        )
      })
  })

/**
 * Parses a fault specification: `overloaded=0.2,rate-limited=0.1,server-error=0.05,reset=0.03,timeout=0.02,seed=7,retry-after-ms=1000`.
 *
 * @since 0.1.0
 * @category config
 */
export const parseFaults = (spec: string): Effect.Effect<SimulatedProvider.Faults, UsageError> =>
  Effect.suspend(() => {
    const keys: Record<string, keyof SimulatedProvider.Faults> = {
      "overloaded": "overloaded",
      "rate-limited": "rateLimited",
      "server-error": "serverError",
      "reset": "connectionReset",
      "timeout": "timeout",
      "seed": "seed",
      "retry-after-ms": "retryAfterMs",
      "timeout-ms": "timeoutMs"
    }
    const out: Record<string, number> = {}
    for (const part of spec.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      const [k, v] = part.split("=")
      const key = keys[k ?? ""]
      const n = Number(v)
      if (key === undefined) {
        return Effect.fail(new UsageError({ detail: `--faults: unknown fault "${k}" (known: ${Object.keys(keys).join(", ")})` }))
      }
      if (v === undefined || !Number.isFinite(n) || n < 0) {
        return Effect.fail(new UsageError({ detail: `--faults: ${k} needs a non-negative number, got "${v ?? ""}"` }))
      }
      out[key] = n
    }
    const total = ["overloaded", "rateLimited", "serverError", "connectionReset", "timeout"].reduce((a, k) => a + (out[k] ?? 0), 0)
    if (total > 1) return Effect.fail(new UsageError({ detail: `--faults: the rates add up to ${total}, more than 1` }))
    return Effect.succeed(out as SimulatedProvider.Faults)
  })

/**
 * The provider layer: a fresh simulator (a cold cache) or the Anthropic API from the environment.
 *
 * @since 0.1.0
 * @category providers
 */
export const providerLayer = (
  provider: ProviderName,
  simulator: SimulatedProvider.SimulatorConfig = {}
): Layer.Layer<LanguageModel, AuthenticationError | UsageError> =>
  provider === "anthropic"
    ? AnthropicProvider.layerConfig().pipe(
      Layer.mapError((e) =>
        ConfigError.isConfigError(e) ? new UsageError({ detail: `configuration: ${String(e)}` }) : e
      )
    )
    : SimulatedProvider.layer(simulator)

const isTTY = () => process.stderr.isTTY === true

const progressLine = (p: Runner.Progress) =>
  Effect.sync(() => {
    if (!isTTY()) return
    const cost = p.costUsd === null ? "unknown" : `$${p.costUsd.toFixed(4)}`
    process.stderr.write(`\r  turns ${p.turnsDone}/${p.turnsTotal} · calls ${p.calls} · spend ${cost}   `)
    if (p.turnsDone === p.turnsTotal) process.stderr.write("\n")
  })

/**
 * @since 0.1.0
 * @category models
 */
export interface RunCommand {
  readonly workload: string
  readonly provider: ProviderName
  readonly warming: CacheWarmer.Policy
  readonly pruning: boolean
  readonly method?: CacheWarmer.Method | undefined
  readonly keepAlive: boolean
  readonly model: Option.Option<string>
  readonly prices: Option.Option<string>
  readonly json: boolean
  readonly metricsPort: Option.Option<number>
  readonly faults?: SimulatedProvider.Faults | undefined
}

const loadWorkload = (name: string, model: Option.Option<string>, prices: Pricing.PriceTable) =>
  Effect.gen(function*() {
    const table = { ...Pricing.defaultTable, ...prices }
    const read = yield* Workload.read(name)
    const workload = Option.match(model, { onNone: () => read, onSome: (m) => ({ ...read, model: m }) })
    return yield* Workload.check(name, workload, table)
  })

/** runs an effect on the simulator's virtual clock, or on the real clock for a real provider */
const clocked = <A, E, R>(provider: ProviderName, effect: Effect.Effect<A, E, R>) =>
  provider === "simulated" ? VirtualTime.run(effect) : effect

/**
 * Serves the process-wide metrics as Prometheus text on `GET /metrics` while the scope lives.
 *
 * @since 0.1.0
 * @category metrics
 */
export const serveMetrics = (port: number) =>
  Effect.gen(function*() {
    const server = yield* NodeHttpServer.make(() => createServer(), { port, host: "127.0.0.1" })
    yield* HttpServer.serveEffect(
      Effect.map(CacheMetrics.prometheus, (text) =>
        HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4" }))
    ).pipe(Effect.provideService(HttpServer.HttpServer, server))
    const address = server.address
    return address._tag === "TcpAddress" ? address.port : port
  })

/**
 * `run`: one configuration, a report on stdout.
 *
 * @since 0.1.0
 * @category commands
 */
export const run = (cmd: RunCommand) =>
  Effect.gen(function*() {
    const prices = yield* loadPrices(cmd.prices)
    const workload = yield* loadWorkload(cmd.workload, cmd.model, prices)
    if (Option.isSome(cmd.metricsPort)) {
      const port = yield* serveMetrics(cmd.metricsPort.value).pipe(
        Effect.mapError(() => new UsageError({ detail: `--metrics-port ${cmd.metricsPort.pipe(Option.getOrThrow)}: cannot listen` }))
      )
      yield* Console.error(`metrics on http://127.0.0.1:${port}/metrics`)
    }
    const options: Runner.RunOptions = {
      warming: cmd.warming,
      pruning: cmd.pruning,
      method: cmd.method,
      keepAlive: cmd.keepAlive,
      prices,
      provider: cmd.provider,
      simulatedTime: cmd.provider === "simulated",
      // against the real API the registry is shared with every other process through REDIS_URL; the
      // simulator's cache lives and dies with this run, so a shared registry would only mislead it
      redisUrl: cmd.provider === "anthropic" && process.env.REDIS_URL ? process.env.REDIS_URL : undefined
    }
    const provider = providerLayer(cmd.provider, { faults: cmd.faults })
    const result = yield* clocked(
      cmd.provider,
      Runner.run(workload, options, provider, progressLine, (partial) =>
        Console.error(`\ninterrupted; partial report:\n${cmd.json ? JSON.stringify(partial, null, 2) : renderText(partial)}`))
    )
    yield* Console.log(cmd.json ? JSON.stringify(result.report, null, 2) : renderText(result.report))
    if (result.report.failedRequests > 0) {
      return yield* Effect.fail(
        new RequestsFailed({
          failed: result.report.failedRequests,
          byError: result.report.details.failuresByError,
          first: result.report.details.firstError
        })
      )
    }
  }).pipe(Effect.scoped)

/**
 * @since 0.1.0
 * @category models
 */
export interface BenchCommand {
  /** a workload name or file, or `all` for every built-in */
  readonly workload: string
  readonly provider: ProviderName
  readonly model: Option.Option<string>
  readonly prices: Option.Option<string>
  readonly json: boolean
  readonly chart: Option.Option<string>
  /** also run `auto` with keep-alive */
  readonly keepAlive: boolean
  readonly overhead: boolean
  readonly pruner: boolean
  /** also split the workload over N replicas: N in-memory registries against one shared Redis */
  readonly replicas?: Option.Option<number> | undefined
}

const benchOne = (workload: Workload.Workload, cmd: BenchCommand, prices: Pricing.PriceTable) =>
  Effect.gen(function*() {
    const configs: Array<Pick<Runner.RunOptions, "warming" | "pruning" | "keepAlive">> = [...Runner.strategies]
    if (cmd.keepAlive) configs.push({ warming: "auto", pruning: true, keepAlive: true })
    const results: Array<{ report: Report; turnCostsUsd: ReadonlyArray<number> }> = []
    for (const c of configs) {
      const options: Runner.RunOptions = { ...c, prices, provider: cmd.provider, simulatedTime: cmd.provider === "simulated" }
      if (isTTY()) process.stderr.write(`  ${workload.name}: ${c.warming}, pruning ${c.pruning ? "on" : "off"}${c.keepAlive ? ", keep-alive" : ""}\n`)
      results.push(yield* clocked(cmd.provider, Runner.run(workload, options, providerLayer(cmd.provider), progressLine)))
    }
    return results
  })

/**
 * `bench`: the strategies side by side on the same workload(s), plus the framework benchmarks.
 *
 * @since 0.1.0
 * @category commands
 */
export const bench = (cmd: BenchCommand) =>
  Effect.gen(function*() {
    const prices = yield* loadPrices(cmd.prices)
    const names = cmd.workload === "all" ? Workload.builtinNames : [cmd.workload]
    if (cmd.provider === "anthropic") {
      // the simulator starts each configuration with a cold cache; the real API has one cache for all
      yield* Console.error(
        "note: with --provider anthropic every configuration shares the API's one cache: the first may warm it for the others"
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
      const first = charts[0]!
      const svg = svgChart(`cost per turn · ${first.workload} · ${cmd.provider}`, first.series)
      yield* Effect.tryPromise(() => writeFile(cmd.chart.pipe(Option.getOrThrow), svg)).pipe(
        Effect.mapError(() => new UsageError({ detail: `--chart: cannot write ${Option.getOrThrow(cmd.chart)}` }))
      )
      if (!cmd.json) yield* Console.log(`chart written to ${Option.getOrThrow(cmd.chart)}`)
    }
    if (cmd.replicas !== undefined && Option.isSome(cmd.replicas)) {
      const redisUrl = process.env.REDIS_URL === "" ? undefined : process.env.REDIS_URL
      for (const name of names) {
        const workload = yield* loadWorkload(name, cmd.model, prices)
        const r = yield* replicasBenchmark(workload, cmd.replicas.value, redisUrl)
        yield* Console.log(renderReplicas(workload.name, r, redisUrl !== undefined))
      }
    }
    if (cmd.overhead) {
      const o = yield* overhead()
      yield* Console.log(renderOverhead(o))
    }
    if (cmd.pruner) {
      const p = yield* prunerBenchmark()
      yield* Console.log(renderPruner(p))
    }
  })

/**
 * @since 0.1.0
 * @category models
 */
export interface ServeCommand {
  readonly port: number
  readonly host: string
  readonly faults: Option.Option<string>
  readonly apiKey: Option.Option<string>
  readonly metricsPort: Option.Option<number>
}

/** the simulator's model with every call recorded in CacheMetrics (for `serve --metrics-port`) */
const metered = Layer.effect(
  LanguageModel,
  Effect.gen(function*() {
    const lm = yield* LanguageModel
    const metrics = yield* CacheMetrics.CacheMetrics
    const record = (request: MessagesRequest) => (r: { usage: import("../Response.js").Usage }, ms: number) =>
      metrics.recordCall({ call: request.max_tokens === 0 ? "warm" : "request", model: request.model, usage: r.usage, latencyMs: ms })
    const service: LanguageModelService = {
      provider: lm.provider,
      create: (request) =>
        Effect.timed(lm.create(request)).pipe(
          Effect.tap(([d, r]) => record(request)(r, Duration.toMillis(d)))
        ).pipe(Effect.map(([, r]) => r)),
      stream: lm.stream
    }
    return service
  })
)

/**
 * `serve`: the simulator as a local Anthropic-compatible server, until interrupted.
 *
 * @since 0.1.0
 * @category commands
 */
export const serve = (cmd: ServeCommand) =>
  Effect.gen(function*() {
    const faults = Option.isSome(cmd.faults) ? yield* parseFaults(cmd.faults.value) : {}
    const sim = SimulatedProvider.layer({ faults })
    const model = metered.pipe(Layer.provideMerge(sim), Layer.provideMerge(CacheMetrics.layer), Layer.provide(Pricing.layerDefault))
    const server = SimulatorServer.layer({
      port: cmd.port,
      host: cmd.host,
      apiKey: Option.getOrUndefined(cmd.apiKey)
    }).pipe(Layer.provide(model))
    yield* Effect.gen(function*() {
      const s = yield* SimulatorServer.SimulatorServer
      yield* Console.log(`simulated Anthropic API on ${s.url} (set ANTHROPIC_BASE_URL=${s.url}); Ctrl-C to stop`)
      if (Option.isSome(cmd.metricsPort)) {
        const port = yield* serveMetrics(cmd.metricsPort.value).pipe(Effect.orDie)
        yield* Console.log(`metrics on http://127.0.0.1:${port}/metrics`)
      }
      return yield* Effect.never
    }).pipe(Effect.provide(server), Effect.scoped)
  })

// ---------------------------------------------------------------------------------------------------
// framework benchmarks
// ---------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category benchmarks
 */
export interface OverheadResult {
  readonly requests: number
  readonly repetitions: number
  /** median time of one run of the workload, services already built */
  readonly directMs: number
  readonly pipelineMs: number
  /** median time to build the services (the simulator; the pipeline's layers over it), apart */
  readonly directSetupMs: number
  readonly pipelineSetupMs: number
  /** pipeline throughput / direct throughput */
  readonly ratio: number
}

const median = (xs: ReadonlyArray<number>) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** builds `layer` (timed), then runs `body` with it (timed), in a scope of its own */
const timedRun = <ROut, A>(layer: Layer.Layer<ROut>, body: Effect.Effect<A, never, ROut>) =>
  Effect.scoped(Effect.gen(function*() {
    const t0 = performance.now()
    const context = yield* Layer.build(layer)
    const t1 = performance.now()
    yield* Effect.provide(body, context)
    return { setupMs: t1 - t0, runMs: performance.now() - t1 }
  }))

/**
 * Framework overhead: the agent-session workload through the full pipeline (auto warming, pruning
 * on, retries, metrics, the oracle and the report) against the same requests sent straight to the
 * simulator with automatic caching, both on a zero-latency simulator. Throughput is measured once
 * the services are built — an application builds them once — and building them is timed apart, fresh
 * for every run on both sides (a fresh simulator cache needs a fresh registry). Wall-clock medians of
 * `repetitions` runs, alternating, after 10 warm-up rounds.
 *
 * @since 0.1.0
 * @category benchmarks
 */
export const overhead = (repetitions = 25): Effect.Effect<OverheadResult> =>
  Effect.gen(function*() {
    const workload = Option.getOrThrow(Workload.builtin("agent-session"))
    const simulator = SimulatedProvider.layer({ latency: SimulatedProvider.zeroLatency })
    // a caller without the framework: builds each turn's conversation the same way the runner does,
    // adds its prompt, and sends the requests straight to the simulator with top-level automatic
    // caching — no pruning, planning, warming, retries or metrics
    const requests = workload.turns.reduce((n, t) => n + t.requests.length, 0)
    const direct = timedRun(
      simulator,
      Effect.gen(function*() {
        const lm = yield* LanguageModel
        let conversation: MessagesRequest | undefined
        for (let t = 0; t < workload.turns.length; t++) {
          conversation = Workload.conversationAt(workload, 0, t, conversation)
          const c = conversation
          const turn = Workload.promptsAt(workload, 0, t).map((p): MessagesRequest => ({
            ...Pipeline.withPrompt(c, p),
            cache_control: { type: "ephemeral" }
          }))
          yield* Effect.forEach(turn, lm.create, { concurrency: "unbounded" })
        }
      }).pipe(Effect.orDie)
    )
    const options: Runner.RunOptions = { warming: "auto", pruning: true, provider: "simulated", simulatedTime: false }
    const piped = timedRun(
      Pipeline.layer(Runner.pipelineConfig(options)).pipe(Layer.provide(simulator)),
      Runner.runWorkload(workload, options)
    )
    // warm up the JIT, then measure alternately
    for (let i = 0; i < 10; i++) {
      yield* direct
      yield* piped
    }
    const d: Array<{ setupMs: number; runMs: number }> = []
    const p: Array<{ setupMs: number; runMs: number }> = []
    for (let i = 0; i < repetitions; i++) {
      d.push(yield* direct)
      p.push(yield* piped)
    }
    const directMs = median(d.map((x) => x.runMs))
    const pipelineMs = median(p.map((x) => x.runMs))
    return {
      requests,
      repetitions,
      directMs,
      pipelineMs,
      directSetupMs: median(d.map((x) => x.setupMs)),
      pipelineSetupMs: median(p.map((x) => x.setupMs)),
      ratio: directMs / pipelineMs
    }
  })

/**
 * @since 0.1.0
 * @category benchmarks
 */
export const renderOverhead = (o: OverheadResult) =>
  [
    `framework overhead (zero-latency simulator, agent-session, ${o.requests} requests, median of ${o.repetitions} runs, services built before the clock):`,
    `  direct to the simulator (automatic caching)  ${o.directMs.toFixed(1)} ms  (${((o.requests / o.directMs) * 1000).toFixed(0)} req/s)   setup ${o.directSetupMs.toFixed(2)} ms`,
    `  full pipeline (auto, pruning on)             ${o.pipelineMs.toFixed(1)} ms  (${((o.requests / o.pipelineMs) * 1000).toFixed(0)} req/s)   setup ${o.pipelineSetupMs.toFixed(2)} ms`,
    `  pipeline throughput = ${(o.ratio * 100).toFixed(0)}% of direct (target ≥ 50%)`
  ].join("\n")

/**
 * @since 0.1.0
 * @category benchmarks
 */
export interface PrunerResult {
  readonly messages: number
  readonly tokens: number
  readonly firstMs: number
  readonly repeatMs: number
  readonly tokensFreed: number
}

/**
 * Pruning a 10,000-message, ~2M-token agent conversation: a first prune (every rule over every call)
 * and a second one of the same conversation (the monotone state applied again).
 *
 * @since 0.1.0
 * @category benchmarks
 */
export const prunerBenchmark = (): Effect.Effect<PrunerResult> =>
  Effect.gen(function*() {
    const messages: Array<import("../Prompt.js").Message> = [{ role: "user", content: "Start the long task." }]
    const paths = Array.from({ length: 300 }, (_, i) => `src/module${i}.ts`)
    const body = (i: number) => `export const value${i} = ${i};\n`.repeat(24) // ~200 tokens
    let id = 0
    while (messages.length < 10_000) {
      const n = id++
      const path = paths[(n * 7919) % paths.length]!
      const kind = n % 10
      const name = kind < 6 ? "read" : kind < 8 ? "write" : "bash"
      const input = name === "read" ? { path } : name === "write" ? { path, content: body(n) } : { command: `npm test -- ${n % 13}` }
      const toolId = `toolu_${n.toString().padStart(6, "0")}`
      messages.push({ role: "assistant", content: [{ type: "tool_use", id: toolId, name, input }] })
      messages.push({
        role: "user",
        content: [{
          type: "tool_result",
          tool_use_id: toolId,
          content: name === "write" ? "written" : body(n).repeat(3),
          ...(kind === 9 ? { is_error: true } : {})
        }]
      })
    }
    const request: MessagesRequest = { model: "claude-sonnet-4-6", max_tokens: 100, system: "You are an agent.", messages }
    const pruner = yield* ContextPruner.make({ clearAtLeast: 0 })
    const t0 = performance.now()
    const first = yield* pruner.prune({ conversationId: "bench", request, cold: true })
    const t1 = performance.now()
    yield* pruner.prune({ conversationId: "bench", request, cold: false })
    const t2 = performance.now()
    return {
      messages: messages.length,
      tokens: tokensFrom(messages, 0),
      firstMs: t1 - t0,
      repeatMs: t2 - t1,
      tokensFreed: Object.values(first.newlyPruned).reduce((a, b) => a + b, 0)
    }
  })

/**
 * @since 0.1.0
 * @category benchmarks
 */
export const renderPruner = (p: PrunerResult) =>
  [
    `pruner: ${p.messages} messages, ~${(p.tokens / 1e6).toFixed(2)}M tokens`,
    `  first prune ${p.firstMs.toFixed(0)} ms (freed ${p.tokensFreed} tokens); same conversation again ${p.repeatMs.toFixed(0)} ms`
  ].join("\n")

/**
 * `soak`: the reliability soak, accounted and checked; fails when anything is lost, duplicated or leaked.
 *
 * @since 0.1.0
 * @category commands
 */
export const soak = (cmd: { readonly requests: number; readonly transport: "in-process" | "http" | "both" }) =>
  Effect.gen(function*() {
    const sessions = 200
    const fanOut = 5
    const turns = Math.max(1, Math.round(cmd.requests / (sessions * fanOut)))
    const transports = cmd.transport === "both" ? (["in-process", "http"] as const) : [cmd.transport]
    for (const transport of transports) {
      const r = yield* Soak.run({ transport, sessions, turns, fanOut })
      yield* Console.log(Soak.render(r))
      const problems = Soak.problems(r)
      if (problems.length > 0) return yield* Effect.fail(new UsageError({ detail: `soak (${transport}): ${problems.join("; ")}` }))
    }
  })

// ---------------------------------------------------------------------------------------------------
// replicas
// ---------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category benchmarks
 */
export interface ReplicasResult {
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
export const replicasBenchmark = (workload: Workload.Workload, replicas: number, redisUrl: string | undefined) =>
  Effect.gen(function*() {
    const results: Array<ReplicasResult> = []
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
          const registry: Pipeline.Config["registry"] = mode === "redis" ? RedisRegistry.layer({ url: redisUrl!, keyPrefix }) : {}
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
        } satisfies ReplicasResult
      }))
      results.push(result)
    }
    return results
  })

/**
 * @since 0.1.0
 * @category benchmarks
 */
export const renderReplicas = (workload: string, results: ReadonlyArray<ReplicasResult>, redis: boolean) =>
  [
    `replicas: ${workload} split over ${results[0]?.replicas ?? 0} pipeline replicas sharing one provider cache (real time, latencies ×${SCALE})`,
    ...results.map((r) =>
      `  ${r.registry.padEnd(9)}  cost $${r.costUsd.toFixed(4)}  requests ${r.requests}  request hits ${r.requestHits}  cache writes ${r.cacheWriteTokens} tokens  warm calls ${r.warmCalls}`
    ),
    ...(redis ? [] : ["  (set REDIS_URL to compare with one shared Redis registry)"])
  ].join("\n")
