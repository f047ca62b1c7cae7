/**
 * The workload file format (docs/workload.md) as `effect/Schema` schemas, and the error of a workload
 * that cannot run. The loader (`Workload.ts`) and the built-ins (`BuiltinWorkloads.ts`) both build on
 * this module, and neither on the other's.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Message, System, Tool } from "../Prompt.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const WorkloadRequest = Schema.Struct({
  prompt: Schema.String.pipe(Schema.minLength(1)),
  maxTokens: Schema.optional(Schema.Int.pipe(Schema.positive()))
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const Turn = Schema.Struct({
  /** messages added to the conversation before this turn */
  append: Schema.optional(Schema.Array(Message)),
  /** the turn's requests, run in parallel over the conversation */
  requests: Schema.Array(WorkloadRequest).pipe(Schema.minItems(1)),
  /** idle time before this turn */
  idleSeconds: Schema.optional(Schema.Number.pipe(Schema.nonNegative(), Schema.finite()))
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
  sessions: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** default `max_tokens` of a request (default 300) */
  maxTokens: Schema.optional(Schema.Int.pipe(Schema.positive())),
  turns: Schema.Array(Turn).pipe(Schema.minItems(1))
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
    reason: Schema.Literal("not_found", "too_large", "not_json", "schema", "invalid_prompt", "unknown_model"),
    detail: Schema.String
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `workload ${this.source}: ${this.detail}`
  }
}
