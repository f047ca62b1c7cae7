/**
 * The workload file format (docs/workload.md) as `effect/Schema` schemas, and the error of a workload
 * that cannot run. The loader (`Workload.ts`) and the built-ins (`BuiltinWorkloads.ts`) both build on
 * this module, and neither on the other's.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { printable } from "../internal/text.js"
import { Message, System, Tool } from "../Prompt.js"

/**
 * The bounds of a workload file, each named in the error that enforces it: enough for any workload
 * this program is for, small enough that a typo cannot exhaust the machine or wait forever (an idle
 * gap beyond a day means nothing to a cache that lives an hour at most). Sessions are started lazily
 * and at most `sessionConcurrency` (10,000) run at once, so memory follows the sessions in flight, not
 * the sessions (docs/benchmarks.md, `bench --scale`). A model's own `max_tokens` limit is checked
 * against the price table.
 *
 * @since 0.1.0
 * @category constants
 */
export const LIMITS = {
  sessions: 1_000_000,
  arrivalsPerSecond: 10_000,
  turns: 1_000,
  requestsPerTurn: 64,
  idleSeconds: 86_400,
  maxTokens: 1_000_000
} as const

const MaxTokens = Schema.Int.pipe(Schema.positive(), Schema.lessThanOrEqualTo(LIMITS.maxTokens, {
  message: (issue) => `at most ${LIMITS.maxTokens.toLocaleString("en-US")} (the model's own limit is checked too), got ${String(issue.actual)}`
}))

/**
 * @since 0.1.0
 * @category schemas
 */
export const WorkloadRequest = Schema.Struct({
  prompt: Schema.String.pipe(Schema.minLength(1)),
  maxTokens: Schema.optional(MaxTokens)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const Turn = Schema.Struct({
  /** replaces the system prompt from this turn on (a prompt that changes mid-session) */
  system: Schema.optional(System),
  /** messages added to the conversation before this turn */
  append: Schema.optional(Schema.Array(Message)),
  /** the turn's requests, run in parallel over the conversation */
  requests: Schema.Array(WorkloadRequest).pipe(Schema.minItems(1), Schema.maxItems(LIMITS.requestsPerTurn, {
    message: () => `at most ${LIMITS.requestsPerTurn} requests per turn`
  })),
  /** idle time before this turn */
  idleSeconds: Schema.optional(Schema.Number.pipe(Schema.nonNegative(), Schema.finite(), Schema.lessThanOrEqualTo(LIMITS.idleSeconds, {
    message: (issue) => `at most ${LIMITS.idleSeconds} seconds (a day; no cache entry lives longer than an hour), got ${String(issue.actual)}`
  })))
})
/**
 * @since 0.1.0
 * @category models
 */
export type Turn = typeof Turn.Type

/**
 * Sessions that start over time instead of all at once: a Poisson process.
 *
 * @since 0.4.0
 * @category schemas
 */
export const Arrivals = Schema.Struct({
  /** mean session starts per second over the day */
  perSecond: Schema.Number.pipe(Schema.positive(), Schema.finite(), Schema.lessThanOrEqualTo(LIMITS.arrivalsPerSecond, {
    message: (issue) => `at most ${LIMITS.arrivalsPerSecond.toLocaleString("en-US")} a second, got ${String(issue.actual)}`
  })),
  /**
   * the day's shape: 24 weights, hour 0 (the run's start) to hour 23, repeating; the rate in an hour
   * is `perSecond` × its weight over the weights' mean (default: flat)
   */
  daily: Schema.optional(
    Schema.Array(Schema.Number.pipe(Schema.nonNegative(), Schema.finite())).pipe(
      Schema.itemsCount(24, { message: () => "24 hourly weights, one per hour of the day" }),
      Schema.filter((w) => w.some((x) => x > 0) || "at least one hour must have a weight above 0")
    )
  ),
  /** the arrival sequence's seed (default 1): the same seed, the same start times */
  seed: Schema.optional(Schema.Int)
})
/**
 * @since 0.4.0
 * @category models
 */
export type Arrivals = typeof Arrivals.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const Workload = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1)),
  model: Schema.String.pipe(Schema.minLength(1)),
  system: Schema.optional(System),
  tools: Schema.optional(Schema.Array(Tool)),
  /** copies of the session (run concurrently, or as they arrive); `{session}` in appended messages and prompts becomes the copy's number */
  sessions: Schema.optional(Schema.Int.pipe(Schema.positive(), Schema.lessThanOrEqualTo(LIMITS.sessions, {
    message: (issue) => `at most ${LIMITS.sessions.toLocaleString("en-US")} sessions, got ${String(issue.actual)}`
  }))),
  /** when the sessions start (default: all at once, at the start of the run) */
  arrivals: Schema.optional(Arrivals),
  /** default `max_tokens` of a request (default 300) */
  maxTokens: Schema.optional(MaxTokens),
  turns: Schema.Array(Turn).pipe(Schema.minItems(1), Schema.maxItems(LIMITS.turns, {
    message: () => `at most ${LIMITS.turns} turns`
  }))
})
/**
 * @since 0.1.0
 * @category models
 */
export type Workload = typeof Workload.Type

/**
 * A workload that cannot run, and why. Nothing was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkloadError extends Schema.TaggedError<WorkloadError>("effect-prompt-cache/WorkloadError")(
  "WorkloadError",
  {
    source: Schema.String,
    reason: Schema.Literal(
      "not_found",
      "not_a_file",
      "unreadable",
      "too_large",
      "too_deep",
      "not_json",
      "schema",
      "invalid_prompt",
      "unknown_model"
    ),
    detail: Schema.String
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    // the file name and anything quoted from the file are shown on one line, without control characters
    return `workload ${printable(this.source)}: ${printable(this.detail)}`
  }
}
