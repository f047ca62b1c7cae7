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
 * this program is for, small enough that a typo cannot exhaust the machine (10,000 one-turn sessions,
 * run together, peaked at 674 MB RSS and took 2 min 9 s here: docs/reliability.md) or wait forever (an idle gap beyond a day means nothing to a cache that
 * lives an hour at most). A model's own `max_tokens` limit is checked against the price table.
 *
 * @since 0.1.0
 * @category constants
 */
export const LIMITS = {
  sessions: 10_000,
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
 * @since 0.1.0
 * @category schemas
 */
export const Workload = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1)),
  model: Schema.String.pipe(Schema.minLength(1)),
  system: Schema.optional(System),
  tools: Schema.optional(Schema.Array(Tool)),
  /** concurrent copies of the session; `{session}` in appended messages and prompts becomes the copy's number */
  sessions: Schema.optional(Schema.Int.pipe(Schema.positive(), Schema.lessThanOrEqualTo(LIMITS.sessions, {
    message: (issue) => `at most ${LIMITS.sessions.toLocaleString("en-US")} sessions, got ${String(issue.actual)}`
  }))),
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
