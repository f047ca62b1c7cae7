/**
 * Framework overhead: the full pipeline against the same requests sent straight to a zero-latency
 * simulator.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { LanguageModel } from "../LanguageModel.js"
import * as Pipeline from "../Pipeline.js"
import type { MessagesRequest } from "../Prompt.js"
import * as SimulatedProvider from "../simulator/SimulatedProvider.js"
import * as Runner from "./Runner.js"
import * as Workload from "./Workload.js"

/**
 * @since 0.1.0
 * @category benchmarks
 */
export interface Result {
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
export const run = (repetitions = 25): Effect.Effect<Result> =>
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
export const render = (o: Result) =>
  [
    `framework overhead (zero-latency simulator, agent-session, ${o.requests} requests, median of ${o.repetitions} runs, services built before the clock):`,
    `  direct to the simulator (automatic caching)  ${o.directMs.toFixed(1)} ms  (${((o.requests / o.directMs) * 1000).toFixed(0)} req/s)   setup ${o.directSetupMs.toFixed(2)} ms`,
    `  full pipeline (auto, pruning on)             ${o.pipelineMs.toFixed(1)} ms  (${((o.requests / o.pipelineMs) * 1000).toFixed(0)} req/s)   setup ${o.pipelineSetupMs.toFixed(2)} ms`,
    `  pipeline throughput = ${(o.ratio * 100).toFixed(0)}% of direct (target ≥ 50%)`
  ].join("\n")
