/**
 * Normalized usage and responses, and the events of a streamed response.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Token usage of one call, split by how each token is billed. Total prompt tokens =
 * `input + cacheCreation5m + cacheCreation1h + cacheRead`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Usage = Schema.Struct({
  /** plain input: the tokens after the last breakpoint (or all, when nothing is cached) */
  input: Schema.Number,
  cacheCreation5m: Schema.Number,
  cacheCreation1h: Schema.Number,
  cacheRead: Schema.Number,
  output: Schema.Number
})
/**
 * @since 0.1.0
 * @category models
 */
export type Usage = typeof Usage.Type

/**
 * @since 0.1.0
 * @category constructors
 */
export const emptyUsage: Usage = { input: 0, cacheCreation5m: 0, cacheCreation1h: 0, cacheRead: 0, output: 0 }

/**
 * @since 0.1.0
 * @category utils
 */
export const cacheCreation = (u: Usage): number => u.cacheCreation5m + u.cacheCreation1h

/**
 * @since 0.1.0
 * @category utils
 */
export const promptTokens = (u: Usage): number => u.input + u.cacheCreation5m + u.cacheCreation1h + u.cacheRead

/**
 * @since 0.1.0
 * @category utils
 */
export const addUsage = (a: Usage, b: Usage): Usage => ({
  input: a.input + b.input,
  cacheCreation5m: a.cacheCreation5m + b.cacheCreation5m,
  cacheCreation1h: a.cacheCreation1h + b.cacheCreation1h,
  cacheRead: a.cacheRead + b.cacheRead,
  output: a.output + b.output
})

/**
 * The usage object as the Anthropic API reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ApiUsage {
  readonly input_tokens: number
  readonly output_tokens: number
  readonly cache_creation_input_tokens?: number | null | undefined
  readonly cache_read_input_tokens?: number | null | undefined
  readonly cache_creation?: {
    readonly ephemeral_5m_input_tokens?: number | null | undefined
    readonly ephemeral_1h_input_tokens?: number | null | undefined
  } | null | undefined
}

/**
 * Reads the API's usage. When the 5m/1h split is missing, all creation tokens count as 5m.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromApiUsage = (u: ApiUsage): Usage => {
  const creation = u.cache_creation_input_tokens ?? 0
  const h1 = u.cache_creation?.ephemeral_1h_input_tokens ?? 0
  const m5 = u.cache_creation?.ephemeral_5m_input_tokens ?? (creation - h1)
  return {
    input: u.input_tokens ?? 0,
    cacheCreation5m: m5,
    cacheCreation1h: h1,
    cacheRead: u.cache_read_input_tokens ?? 0,
    output: u.output_tokens ?? 0
  }
}

/**
 * Writes usage in the API's shape.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toApiUsage = (u: Usage) => ({
  input_tokens: u.input,
  cache_creation_input_tokens: u.cacheCreation5m + u.cacheCreation1h,
  cache_read_input_tokens: u.cacheRead,
  cache_creation: { ephemeral_5m_input_tokens: u.cacheCreation5m, ephemeral_1h_input_tokens: u.cacheCreation1h },
  output_tokens: u.output
})

/**
 * The API's own diagnosis of a cache miss (Anthropic's `diagnostics.cache_miss_reason`, beta):
 * `reason` is its `type` (`system_changed`, `tools_changed`, `messages_changed`, `model_changed`,
 * `previous_message_not_found`, `unavailable`), `null` while the API had not finished comparing.
 *
 * @since 0.3.0
 * @category schemas
 */
export const ApiDiagnosis = Schema.Struct({
  reason: Schema.NullOr(Schema.String),
  missedInputTokens: Schema.optional(Schema.Number)
})
/**
 * @since 0.3.0
 * @category models
 */
export type ApiDiagnosis = typeof ApiDiagnosis.Type

/**
 * The API's `diagnostics` object as this library keeps it: undefined when there is none (not asked
 * for, or no divergence found).
 *
 * @since 0.3.0
 * @category decoding
 */
export const apiDiagnosisOf = (diagnostics: unknown): ApiDiagnosis | undefined => {
  if (typeof diagnostics !== "object" || diagnostics === null) return undefined
  const reason = (diagnostics as { readonly cache_miss_reason?: unknown }).cache_miss_reason
  if (typeof reason !== "object" || reason === null) return { reason: null }
  const type = (reason as { readonly type?: unknown }).type
  const missed = (reason as { readonly cache_missed_input_tokens?: unknown }).cache_missed_input_tokens
  return {
    reason: typeof type === "string" ? type : null,
    ...(typeof missed === "number" ? { missedInputTokens: missed } : {})
  }
}

/**
 * The API's `context_management.applied_edits` as this library keeps them; undefined when absent.
 *
 * @since 0.3.0
 * @category decoding
 */
export const contextEditsOf = (contextManagement: unknown): Response["contextEdits"] => {
  const edits = (contextManagement as { readonly applied_edits?: unknown } | null | undefined)?.applied_edits
  if (!Array.isArray(edits)) return undefined
  return edits.flatMap((e: unknown) => {
    const edit = e as { readonly type?: unknown; readonly cleared_input_tokens?: unknown; readonly cleared_tool_uses?: unknown }
    return typeof edit.type === "string" && typeof edit.cleared_input_tokens === "number"
      ? [{
        type: edit.type,
        clearedInputTokens: edit.cleared_input_tokens,
        ...(typeof edit.cleared_tool_uses === "number" ? { clearedToolUses: edit.cleared_tool_uses } : {})
      }]
      : []
  })
}

/**
 * The wire form of an {@link ApiDiagnosis}.
 *
 * @since 0.3.0
 * @category encoding
 */
export const toApiDiagnostics = (d: ApiDiagnosis) => ({
  cache_miss_reason: d.reason === null
    ? null
    : { type: d.reason, ...(d.missedInputTokens !== undefined ? { cache_missed_input_tokens: d.missedInputTokens } : {}) }
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const Response = Schema.Struct({
  id: Schema.String,
  model: Schema.String,
  content: Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  stopReason: Schema.NullOr(Schema.String),
  usage: Usage,
  requestId: Schema.optional(Schema.String),
  /**
   * figures of `usage` the provider did not report, so not known (its zero there is not a measured
   * zero): `cacheWrite` when the tokens written to the cache are unknown
   */
  usageUnknown: Schema.optional(Schema.Array(Schema.Literal("cacheWrite"))),
  /** the API's own diagnosis of the request's cache miss, when it gave one */
  diagnosis: Schema.optional(ApiDiagnosis),
  /** what the API's context editing cleared before the prompt was read (`context_management.applied_edits`) */
  contextEdits: Schema.optional(Schema.Array(Schema.Struct({
    type: Schema.String,
    clearedInputTokens: Schema.Number,
    clearedToolUses: Schema.optional(Schema.Number)
  })))
})
/**
 * @since 0.1.0
 * @category models
 */
export type Response = typeof Response.Type

/**
 * The concatenated text of a response.
 *
 * @since 0.1.0
 * @category utils
 */
export const text = (response: Response): string =>
  response.content.filter((b) => b.type === "text").map((b) => String(b.text)).join("")

/**
 * Events of a streamed response. `Begun` is the API's `message_start`: the response has begun and the
 * cache entries this request writes are now readable. Its `usage` is the cache usage when the provider
 * reports it that early (Anthropic does), `undefined` when it comes only with the end (OpenAI).
 *
 * @since 0.1.0
 * @category models
 */
export type StreamEvent =
  | {
    readonly _tag: "Begun"
    readonly id: string
    readonly model: string
    readonly usage: Usage | undefined
    /** the API's cache diagnosis, which `message_start` carries */
    readonly diagnosis?: ApiDiagnosis | undefined
  }
  | { readonly _tag: "TextDelta"; readonly text: string }
  | { readonly _tag: "Completed"; readonly response: Response }
