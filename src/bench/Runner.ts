/**
 * Runs a workload through the pipeline and measures it: the report of one configuration, and the
 * side-by-side benchmark of the strategies.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as CacheMetrics from "../CacheMetrics.js"
import type * as CacheWarmer from "../CacheWarmer.js"
import type * as ContextPruner from "../ContextPruner.js"
import type { LanguageModel } from "../LanguageModel.js"
import * as Pipeline from "../Pipeline.js"
import * as Pricing from "../Pricing.js"
import * as RedisLoader from "./RedisLoader.js"
import type { MessagesRequest } from "../Prompt.js"
import type { Usage } from "../Response.js"
import type { HourFigures, Report } from "./Report.js"
import { callFigures, summarizeCosts } from "./Report.js"
import * as Arrivals from "./Arrivals.js"
import * as Hindsight from "./Hindsight.js"
import { Oracle } from "./Oracle.js"
import * as Workload from "./Workload.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  readonly warming: CacheWarmer.Policy
  /**
   * `true` / `"on"`: the price-aware pruner; `"eager"`: every rule's targets pruned the turn they
   * appear; `"server"`: no client pruning, the API's context editing instead (`serverEditing`)
   */
  readonly pruning: boolean | PruningStrategy
  /** the API's context editing for `pruning: "server"` (default {@link defaultServerEditing}) */
  readonly serverEditing?: ServerEditing | undefined
  /** `pruning: "hindsight"`: the turns at which a round is applied (Hindsight.scheduleOf) */
  readonly rounds?: ReadonlyArray<number> | undefined
  readonly method?: CacheWarmer.Method | undefined
  readonly keepAlive?: boolean | undefined
  readonly retry?: CacheWarmer.WarmerConfig["retry"]
  readonly prices?: Pricing.PriceTable | undefined
  /** the provider's name, for the report */
  readonly provider: string
  /** latencies are simulated time (the simulator on a virtual clock) */
  readonly simulatedTime: boolean
  /** run only these session copies (default: all); replicas split a workload's sessions this way */
  readonly sessionIndices?: ReadonlyArray<number> | undefined
  /** multiply idle times by this (default 1); for real-time runs of workloads with long idle gaps */
  readonly idleScale?: number | undefined
  /** share the warm registry with other processes through Redis */
  readonly redisUrl?: string | undefined
  /** ask the API for its cache diagnosis of each request (Pipeline `cacheDiagnostics`) */
  readonly cacheDiagnostics?: boolean | undefined
  /**
   * sessions run at once at most (default {@link defaultSessionConcurrency}): the rest start as
   * slots free up — with arrivals, late, and counted in the report
   */
  readonly sessionConcurrency?: number | undefined
  /**
   * compute the oracle lower bound (default true); it remembers every distinct prompt block of the
   * run, so a run of a hundred thousand users that does not report it leaves it out
   */
  readonly oracle?: boolean | undefined
}

/**
 * Sessions a run keeps in flight at most by default: the former limit of a workload's sessions, so
 * every workload that ran before runs as it did (all its sessions at once).
 *
 * @since 0.4.0
 * @category models
 */
export const defaultSessionConcurrency = 10_000

/**
 * @since 0.3.0
 * @category models
 */
export type PruningStrategy = "off" | "on" | "eager" | "server" | "hindsight"

/**
 * `clear_tool_uses_20250919`'s settings, as `bench` sends them.
 *
 * @since 0.3.0
 * @category models
 */
export interface ServerEditing {
  readonly triggerTokens: number
  readonly keepToolUses: number
  readonly clearAtLeastTokens: number
}

/**
 * The bench's server-side editing: activate past 20,000 input tokens (the API's default, 100,000, is
 * past every built-in workload), keep the 3 most recent tool uses (the API's default), clear at least
 * 5,000 tokens or nothing.
 *
 * @since 0.3.0
 * @category models
 */
export const defaultServerEditing: ServerEditing = { triggerTokens: 20_000, keepToolUses: 3, clearAtLeastTokens: 5_000 }

/**
 * The strategy of a run's `pruning` option.
 *
 * @since 0.3.0
 * @category models
 */
export const pruningOf = (options: Pick<RunOptions, "pruning">): PruningStrategy =>
  options.pruning === true ? "on" : options.pruning === false ? "off" : options.pruning

/** the client-side pruner of a strategy (`server` and `off` have none) */
const prunerConfig = (options: RunOptions): ContextPruner.PrunerConfig | false => {
  switch (pruningOf(options)) {
    case "on":
      return {}
    case "eager":
      return { strategy: "eager" }
    case "hindsight":
      return { strategy: "schedule", rounds: options.rounds ?? [] }
    default:
      return false
  }
}

/** the request fields that ask the API to edit the context, for `pruning: "server"` */
const contextManagement = (editing: ServerEditing) => ({
  context_management: {
    edits: [{
      type: "clear_tool_uses_20250919",
      trigger: { type: "input_tokens", value: editing.triggerTokens },
      keep: { type: "tool_uses", value: editing.keepToolUses },
      clear_at_least: { type: "input_tokens", value: editing.clearAtLeastTokens }
    }]
  }
})

/**
 * Progress of a run, for a live display.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly turnsDone: number
  readonly turnsTotal: number
  readonly calls: number
  readonly costUsd: number | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RunResult {
  readonly report: Report
  /** cost per turn index (all sessions), USD: requests and warm calls of that turn */
  readonly turnCostsUsd: ReadonlyArray<number>
}

const percentile = (values: ReadonlyArray<number>, q: number): number | null => {
  if (values.length === 0) return null
  const sorted = values.slice().sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

/**
 * Runs a workload on the services in context (a pipeline built for this run).
 *
 * @since 0.1.0
 * @category running
 */
export const runWorkload = (
  workload: Workload.Workload,
  options: RunOptions,
  onProgress?: ((p: Progress) => Effect.Effect<void>) | undefined,
  onInterrupted: (partial: Report) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<RunResult, never, Pipeline.Pipeline | CacheMetrics.CacheMetrics | Pricing.Pricing> =>
  Effect.gen(function*() {
    const pipeline = yield* Pipeline.Pipeline
    const metrics = yield* CacheMetrics.CacheMetrics
    const pricing = yield* Pricing.Pricing
    const price = pricing.lookup(workload.model)
    const oracle = options.oracle === false ? Option.none() : Option.map(price, (p) => new Oracle(p))
    const sessions = workload.sessions ?? 1
    const turnCosts = workload.turns.map(() => 0)
    /** each ended session's cost, and with no caching (null when unknown) */
    const sessionCosts: Array<Pipeline.SessionCost> = []
    const turnLatencies: Array<number> = []
    let failedRequests = 0
    let firstError: string | undefined
    // errors no retry or later turn can fix (a bad key, no permission, no credit, no such model) stop
    // the run instead of failing every request that follows
    let fatal = false
    const fatalTags: ReadonlySet<string> = new Set(["AuthenticationError", "PermissionError", "BillingError", "NotFound"])
    let prunedTokens = 0
    let turnsDone = 0
    let callsDone = 0
    let spentUsd = 0
    const strategy = pruningOf(options)
    const serverFields = contextManagement(options.serverEditing ?? defaultServerEditing)
    const requestsLeft = (from: number) => workload.turns.slice(from).reduce((n, t) => n + t.requests.length, 0)

    const hours = new Hours()
    const session = (s: number) =>
      Effect.gen(function*() {
        let conversation: MessagesRequest | undefined
        // the fiber's clock, read synchronously at each turn (a clock read per turn as an effect is
        // several runtime steps, for every turn of a simulation)
        const clock = yield* Effect.clock
        const hourNow = () => Math.floor((clock.unsafeCurrentTimeMillis() - started) / HOUR_MS)
        hours.at(hourNow()).sessionsStarted++
        for (let t = 0; t < workload.turns.length; t++) {
          if (fatal) break
          const turn = workload.turns[t]!
          if (turn.idleSeconds !== undefined && turn.idleSeconds > 0) {
            yield* Effect.sleep(Duration.seconds(turn.idleSeconds * (options.idleScale ?? 1)))
          }
          const hour = hours.at(hourNow())
          conversation = Workload.conversationAt(workload, s, t, conversation)
          if (strategy === "server" && t === 0) conversation = { ...conversation, ...serverFields }
          const result = yield* pipeline.turn({
            sessionId: `${workload.name}#${s}`,
            conversation,
            prompts: Workload.promptsAt(workload, s, t),
            expectedRemainingRequests: requestsLeft(t + 1)
          })
          turnLatencies.push(result.latencyMs)
          for (const n of Object.values(result.newlyPruned)) prunedTokens += n
          // server-side editing: what the API cleared from each request before reading it
          for (const r of result.responses) {
            if (Either.isRight(r)) for (const e of r.right.contextEdits ?? []) prunedTokens += e.clearedInputTokens
          }
          // the turn's cost as the pipeline priced it (its warm call and its requests that succeeded)
          turnCosts[t]! += result.cost.usd ?? 0
          hour.add(result)
          result.responses.forEach((r, i) => {
            if (Either.isLeft(r)) {
              failedRequests++
              firstError ??= r.left.message
              if (fatalTags.has(r.left._tag)) fatal = true
              return
            }
            if (Option.isSome(oracle)) oracle.value.add(result.requests[i]!, r.right.usage.output)
          })
          turnsDone++
          callsDone += result.responses.length + (result.warm?._tag === "Warmed" ? 1 : 0)
          spentUsd = result.cost.usd === null ? NaN : spentUsd + result.cost.usd
          if (onProgress === undefined) continue
          // from the run's own counts: a metrics snapshot per turn would grow with the run
          yield* onProgress({
            turnsDone,
            turnsTotal: workload.turns.length * indices.length,
            calls: callsDone,
            costUsd: Number.isNaN(spentUsd) ? null : round(spentUsd)
          })
        }
        // the session has ended: its cost (the pipeline's running total) into the report, then its
        // state goes, and its cost into the session-cost histogram
        const id = `${workload.name}#${s}`
        const cost = yield* pipeline.sessionCost(id)
        if (Option.isSome(cost)) sessionCosts.push(cost.value)
        yield* pipeline.forget(id)
      })

    const started = yield* Clock.currentTimeMillis
    const buildReport = Effect.gen(function*() {
    const elapsedMs = (yield* Clock.currentTimeMillis) - started
    const snap = yield* metrics.snapshot
    const retries = Object.values(snap.retries).reduce((a, b) => a + b, 0)
    const report: Report = {
      workload: workload.name,
      provider: options.provider,
      model: workload.model,
      warming: options.warming,
      pruning: strategy,
      turns: workload.turns.length,
      sessions: indices.length,
      calls: { warm: callFigures(snap.calls.warm), request: callFigures(snap.calls.request) },
      totalCostUsd: snap.totalCostUsd,
      noCacheCostUsd: snap.noCacheCostUsd,
      oracleCostUsd: Option.match(oracle, { onNone: () => null, onSome: (o) => round(o.costUsd()) }),
      perSession: {
        count: sessionCosts.length,
        ...summarizeCosts(sessionCosts.map((c) => c.usd)),
        noCache: summarizeCosts(sessionCosts.map((c) => c.noCacheUsd))
      },
      missReasons: { warm: snap.calls.warm.missReasons, request: snap.calls.request.missReasons },
      prunedTokens,
      retries,
      failedRequests,
      perHour: hours.figures(),
      details: {
        arrivals: workload.arrivals === undefined ? null : { perSecond: workload.arrivals.perSecond, delayedStarts },
        sessionConcurrency,
        keepAlive: options.keepAlive === true,
        simulatedTime: options.simulatedTime,
        timeScale: options.idleScale ?? 1,
        elapsedMs,
        savingsUsd: snap.savingsUsd,
        turnLatencyMs: { p50: percentile(turnLatencies, 0.5), p95: percentile(turnLatencies, 0.95) },
        hitRate: {
          warm: { calls: snap.calls.warm.hitRateByCalls, tokens: snap.calls.warm.hitRateByTokens },
          request: { calls: snap.calls.request.hitRateByCalls, tokens: snap.calls.request.hitRateByTokens }
        },
        skippedWarms: snap.skippedWarms,
        prunedByRule: snap.prunedTokens,
        retriesByError: snap.retries,
        failuresByError: snap.failures,
        firstError: firstError ?? null,
        apiDiagnoses: snap.apiDiagnoses,
        warnings: snap.warnings
      }
    }
    return report
    })
    const indices = options.sessionIndices ?? Array.from({ length: sessions }, (_, s) => s)
    const sessionConcurrency = options.sessionConcurrency ?? defaultSessionConcurrency
    const starts = workload.arrivals === undefined ? undefined : Arrivals.times(workload.arrivals, sessions)
    let delayedStarts = 0
    // one loop starts the sessions, each at its arrival (all at once without arrivals) and only when
    // one of `sessionConcurrency` slots is free: a session is built when it starts and gone when it
    // ends, so memory follows the sessions in flight, not the sessions
    const launch = Effect.gen(function*() {
      const slots = yield* Effect.makeSemaphore(sessionConcurrency)
      const running = yield* FiberSet.make<void>()
      for (const s of indices) {
        const at = starts === undefined ? undefined : started + starts[s]!
        if (at !== undefined) {
          const wait = at - (yield* Clock.currentTimeMillis)
          if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
        }
        yield* slots.take(1)
        if (at !== undefined && (yield* Clock.currentTimeMillis) - at > 1) delayedStarts++
        yield* FiberSet.run(running, Effect.ensuring(session(s), slots.release(1)))
      }
      yield* FiberSet.awaitEmpty(running)
    }).pipe(Effect.scoped)
    yield* launch.pipe(Effect.onInterrupt(() => Effect.flatMap(buildReport, onInterrupted)))
    return { report: yield* buildReport, turnCostsUsd: turnCosts.map(round) }
  })

const round = (usd: number) => Math.round(usd * 1e9) / 1e9

const HOUR_MS = 3_600_000

/** one hour's running figures */
class Hour {
  sessionsStarted = 0
  requests = 0
  warmCalls = 0
  promptTokens = 0
  cacheReadTokens = 0
  costUsd = 0
  add(result: Pipeline.TurnResult) {
    const count = (u: Usage) => {
      this.promptTokens += u.input + u.cacheCreation5m + u.cacheCreation1h + u.cacheRead
      this.cacheReadTokens += u.cacheRead
    }
    if (result.warm?._tag === "Warmed") {
      this.warmCalls++
      count(result.warm.usage)
    }
    for (const r of result.responses) {
      this.requests++
      if (Either.isRight(r)) count(r.right.usage)
    }
    this.costUsd = result.cost.usd === null ? NaN : this.costUsd + result.cost.usd
  }
}

/** the run's hours, from its start */
class Hours {
  private readonly hours: Array<Hour> = []
  at(hour: number): Hour {
    while (this.hours.length <= hour) this.hours.push(new Hour())
    return this.hours[hour]!
  }
  figures(): ReadonlyArray<HourFigures> {
    return this.hours.map((h, hour) => ({
      hour,
      sessionsStarted: h.sessionsStarted,
      requests: h.requests,
      warmCalls: h.warmCalls,
      promptTokens: h.promptTokens,
      cacheReadTokens: h.cacheReadTokens,
      hitRateTokens: h.promptTokens === 0 ? 0 : Math.round((h.cacheReadTokens / h.promptTokens) * 1e6) / 1e6,
      costUsd: Number.isNaN(h.costUsd) ? null : round(h.costUsd)
    }))
  }
}

/**
 * The pipeline configuration a run uses.
 *
 * @since 0.1.0
 * @category running
 */
export const pipelineConfig = (options: RunOptions): Pipeline.Config => ({
  warmer: {
    policy: options.warming,
    method: options.method,
    keepAlive: options.keepAlive === true ? {} : false,
    ...(options.retry !== undefined ? { retry: options.retry } : {})
  },
  pruner: prunerConfig(options),
  prices: options.prices,
  cacheDiagnostics: options.cacheDiagnostics,
  ...(options.redisUrl !== undefined ? { registry: RedisLoader.layer({ url: options.redisUrl }) } : {})
})

/**
 * Runs one configuration with a fresh pipeline over the given provider layer.
 *
 * @since 0.1.0
 * @category running
 */
export const run = <E>(
  workload: Workload.Workload,
  options: RunOptions,
  provider: Layer.Layer<LanguageModel, E>,
  onProgress?: (p: Progress) => Effect.Effect<void>,
  onInterrupted?: (partial: Report) => Effect.Effect<void>
): Effect.Effect<RunResult, E> =>
  Effect.suspend(() => {
    const resolved = withSchedule(workload, options)
    return runWorkload(workload, resolved, onProgress, onInterrupted).pipe(
      Effect.provide(Pipeline.layer(pipelineConfig(resolved)).pipe(Layer.provide(provider)))
    )
  })

/** `pruning: "hindsight"` without its rounds: the cheapest schedule, found offline for the model's prices */
const withSchedule = (workload: Workload.Workload, options: RunOptions): RunOptions => {
  if (pruningOf(options) !== "hindsight" || options.rounds !== undefined) return options
  const price = Option.orElse(Pricing.lookup(options.prices ?? {}, workload.model), () => Pricing.lookup(Pricing.defaultTable, workload.model))
  const multipliers = Option.match(price, { onNone: () => Pricing.Multipliers, onSome: Pricing.multipliersOf })
  return { ...options, rounds: Hindsight.scheduleOf(workload, multipliers) }
}

/**
 * The strategies `bench` compares.
 *
 * @since 0.1.0
 * @category running
 */
export const strategies: ReadonlyArray<Pick<RunOptions, "warming" | "pruning">> = [
  { warming: "off", pruning: false },
  { warming: "always", pruning: false },
  { warming: "auto", pruning: false },
  { warming: "off", pruning: true },
  { warming: "always", pruning: true },
  { warming: "auto", pruning: true }
]
