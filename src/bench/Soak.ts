/**
 * The reliability soak: many concurrent sessions with fan-out through the full pipeline while the
 * simulator injects faults, in-process (virtual time) or through the real SDK over HTTP to the local
 * server (real time). It accounts for every request and every attempt, so that a test — or a user
 * running `npm run soak` — can check that nothing is lost, reported twice, left hanging or leaked.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as AnthropicProvider from "../anthropic/AnthropicProvider.js"
import * as CacheMetrics from "../CacheMetrics.js"
import * as CacheWarmer from "../CacheWarmer.js"
import type { LanguageModel } from "../LanguageModel.js"
import * as Pipeline from "../Pipeline.js"
import type { MessagesRequest } from "../Prompt.js"
import * as RetryPolicy from "../RetryPolicy.js"
import * as SimulatedProvider from "../simulator/SimulatedProvider.js"
import * as SimulatorServer from "../simulator/SimulatorServer.js"
import * as VirtualTime from "../simulator/VirtualTime.js"
import * as WarmRegistry from "../WarmRegistry.js"

/**
 * The fault mix of the reliability issue: 20% 529, 10% 429 with retry-after, 5% 500, 3% connection
 * resets mid-stream, 2% timeouts.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultFaults: SimulatedProvider.Faults = {
  seed: 20261126,
  overloaded: 0.2,
  rateLimited: 0.1,
  serverError: 0.05,
  connectionReset: 0.03,
  timeout: 0.02
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SoakOptions {
  readonly transport: "in-process" | "http"
  readonly sessions: number
  readonly turns: number
  readonly fanOut: number
  readonly faults?: SimulatedProvider.Faults | undefined
  /** each session its own system prompt: many distinct prefixes (for memory bounds) */
  readonly distinctPrefixes?: boolean | undefined
  /** bound on the warm registry (default 10,000) */
  readonly registryMaxEntries?: number | undefined
  readonly method?: CacheWarmer.Method | undefined
  /** called with the number of outcomes so far, after every turn */
  readonly onProgress?: ((outcomes: number) => void) | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SoakResult {
  readonly transport: "in-process" | "http"
  /** requests issued by the sessions */
  readonly requests: number
  /** responses or typed errors returned to the sessions: one per request */
  readonly outcomes: number
  readonly succeeded: number
  readonly failed: number
  readonly failedByError: Readonly<Record<string, number>>
  /** a response id returned for two requests */
  readonly duplicates: number
  /** requests of turns that did not finish within 10 minutes */
  readonly hanging: number
  /** calls the provider saw (the simulator's log, or the HTTP server's) */
  readonly providerCalls: number
  /** successes + retries + final failures counted by the metrics, warm calls included */
  readonly accountedCalls: number
  readonly retries: number
  readonly warmCalls: number
  readonly warmFailures: number
  /** fan-outs whose warm call failed, and how many of their requests still succeeded */
  readonly fanOutsWithFailedWarm: number
  readonly succeededAfterFailedWarm: number
  /** what the warmer still holds at the end (all zero when nothing leaked) */
  readonly gates: number
  readonly warmsInFlight: number
  readonly registrySize: number
  readonly wallMs: number
  readonly heapUsedMb: { readonly before: number; readonly after: number }
}

/** heap in use, after a full collection when the process runs with --expose-gc */
const mb = () => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) gc()
  return Math.round((process.memoryUsage().heapUsed / 1024 / 1024) * 10) / 10
}

/** a turn that takes longer than this (provider time) counts as hanging */
const TURN_DEADLINE_MS = 10 * 60_000

const SYSTEM = "You are a support agent for a billing product. Follow the policies exactly. ".repeat(140)

/**
 * Runs the soak on the services in context.
 *
 * @since 0.1.0
 * @category running
 */
export const drive = (options: SoakOptions) =>
  Effect.gen(function*() {
    const pipeline = yield* Pipeline.Pipeline
    let outcomes = 0
    let succeeded = 0
    let fanOutsWithFailedWarm = 0
    let succeededAfterFailedWarm = 0
    const failedByError: Record<string, number> = {}
    const ids = new Set<string>()
    let duplicates = 0
    let hanging = 0
    const session = (s: number) =>
      Effect.gen(function*() {
        const messages: Array<MessagesRequest["messages"][number]> = []
        for (let t = 0; t < options.turns; t++) {
          if (t > 0) messages.push({ role: "assistant", content: `Answer ${t - 1} to user ${s}.` })
          messages.push({ role: "user", content: `User ${s}, question ${t}: why is invoice ${s}-${t} rounded?` })
          const finished = yield* pipeline.turn({
            sessionId: `soak-${s}`,
            conversation: {
              model: "claude-sonnet-4-6",
              max_tokens: 50,
              system: options.distinctPrefixes === true ? `${SYSTEM} Tenant ${s}.` : SYSTEM,
              messages: [...messages]
            },
            prompts: Array.from({ length: options.fanOut }, (_, i) => ({ prompt: `Part ${i}.`, maxTokens: 50 }))
          }).pipe(Effect.timeoutOption(Duration.millis(TURN_DEADLINE_MS)))
          if (Option.isNone(finished)) {
            hanging += options.fanOut
            return
          }
          const turn = finished.value
          // its own warm call failed, or the one it joined did
          const warmFailed = turn.warm?._tag === "Failed" || turn.warm?._tag === "JoinedFailed"
          if (warmFailed) fanOutsWithFailedWarm++
          options.onProgress?.(outcomes + turn.responses.length)
          for (const r of turn.responses) {
            outcomes++
            if (Either.isRight(r)) {
              succeeded++
              if (warmFailed) succeededAfterFailedWarm++
              if (ids.has(r.right.id)) duplicates++
              ids.add(r.right.id)
            } else {
              failedByError[r.left._tag] = (failedByError[r.left._tag] ?? 0) + 1
            }
          }
        }
      })
    yield* Effect.forEach(Array.from({ length: options.sessions }, (_, s) => s), session, { concurrency: "unbounded" })
    const snap = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
    const warmer = yield* CacheWarmer.CacheWarmer
    const registry = yield* WarmRegistry.WarmRegistry
    const state = yield* warmer.state
    const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0)
    return {
      requests: options.sessions * options.turns * options.fanOut,
      outcomes,
      succeeded,
      failed: outcomes - succeeded,
      failedByError,
      duplicates,
      hanging,
      accountedCalls: snap.totals.count + sum(snap.retries) + sum(snap.failures),
      retries: sum(snap.retries),
      warmCalls: snap.calls.warm.count + snap.calls.warm.failures,
      warmFailures: snap.calls.warm.failures,
      fanOutsWithFailedWarm,
      succeededAfterFailedWarm,
      gates: state.gates,
      warmsInFlight: state.warmsInFlight,
      registrySize: yield* registry.size
    }
  })

const pipelineLayer = (options: SoakOptions, retry: RetryPolicy.RetrySchedule) =>
  Pipeline.layer({
    warmer: { policy: "auto", method: options.method ?? "warm-call", retry },
    pruner: false,
    registry: { maxEntries: options.registryMaxEntries }
  })

/**
 * Runs a soak and accounts for it.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (options: SoakOptions): Effect.Effect<SoakResult> =>
  Effect.gen(function*() {
    const faults = options.faults ?? defaultFaults
    const before = mb()
    const started = performance.now()
    if (options.transport === "in-process") {
      const simulator = SimulatedProvider.layer({ faults: { timeoutMs: 10_000, ...faults } })
      const stack = pipelineLayer(options, RetryPolicy.exponentialBackoff()).pipe(Layer.provideMerge(simulator))
      const result = yield* VirtualTime.run(
        Effect.gen(function*() {
          const r = yield* drive(options)
          const calls = yield* Effect.flatMap(SimulatedProvider.Simulator, (s) => s.calls)
          return { ...r, providerCalls: calls.length }
        }).pipe(Effect.provide(stack))
      )
      return { transport: options.transport, ...result, wallMs: performance.now() - started, heapUsedMb: { before, after: mb() } }
    }
    // over HTTP: real SDK, real sockets, real time — so short delays
    const simulator = SimulatedProvider.layer({
      latency: SimulatedProvider.zeroLatency,
      faults: { retryAfterMs: 20, timeoutMs: 100, ...faults }
    })
    const server = SimulatorServer.layer({ apiKey: "sk-soak" }).pipe(Layer.provide(simulator))
    const retry = RetryPolicy.exponentialBackoff({ baseDelayMs: 5, maxDelayMs: 100, maxElapsedMs: 30_000 })
    const result = yield* Effect.gen(function*() {
      const s = yield* SimulatorServer.SimulatorServer
      const provider: Layer.Layer<LanguageModel> = AnthropicProvider.layer({
        apiKey: "sk-soak",
        baseURL: s.url,
        timeoutMs: 10_000,
        streamIdleTimeoutMs: 5_000
      })
        .pipe(Layer.orDie)
      const r = yield* drive(options).pipe(Effect.provide(pipelineLayer(options, retry).pipe(Layer.provide(provider))))
      return { ...r, providerCalls: (yield* s.received).length }
    }).pipe(Effect.provide(server))
    return { transport: options.transport, ...result, wallMs: performance.now() - started, heapUsedMb: { before, after: mb() } }
  })

/**
 * @since 0.1.0
 * @category rendering
 */
export const render = (r: SoakResult): string =>
  [
    `soak (${r.transport}): ${r.requests} requests → ${r.outcomes} outcomes: ${r.succeeded} succeeded, ${r.failed} failed ${
      JSON.stringify(r.failedByError)
    }, ${r.duplicates} duplicates, ${r.hanging} hanging`,
    `  provider saw ${r.providerCalls} calls; metrics account for ${r.accountedCalls} (successes + ${r.retries} retries + final failures)`,
    `  warm calls ${r.warmCalls} (${r.warmFailures} failed; ${r.fanOutsWithFailedWarm} fan-outs after a failed warm, ${r.succeededAfterFailedWarm} of their requests succeeded)`,
    `  left at the end: ${r.gates} gates, ${r.warmsInFlight} warm calls in flight; registry ${r.registrySize} entries`,
    `  wall ${(r.wallMs / 1000).toFixed(1)} s; heap used ${r.heapUsedMb.before} MB → ${r.heapUsedMb.after} MB`
  ].join("\n")

/**
 * What is wrong with a soak's accounts (empty when nothing was lost, duplicated, left hanging or leaked).
 *
 * @since 0.1.0
 * @category checks
 */
export const problems = (r: SoakResult): ReadonlyArray<string> => {
  const out: Array<string> = []
  if (r.outcomes !== r.requests) out.push(`${r.requests} requests but ${r.outcomes} outcomes`)
  if (r.duplicates > 0) out.push(`${r.duplicates} responses reported twice`)
  if (r.hanging > 0) out.push(`${r.hanging} requests still running after 10 minutes`)
  if (r.accountedCalls !== r.providerCalls) {
    out.push(`the provider saw ${r.providerCalls} calls but the metrics account for ${r.accountedCalls}`)
  }
  if (r.gates > 0 || r.warmsInFlight > 0) out.push(`${r.gates} gates and ${r.warmsInFlight} warm calls left held`)
  return out
}
