/**
 * The subset of OpenAI's Chat Completions wire that this library speaks, as `effect/Schema`s (a
 * request, as `serve` decodes it) and plain types (a completion, a chunk, usage), read from the
 * `openai` package's own types (6.x, `resources/chat/completions/completions.d.ts`). No SDK import:
 * the simulator's server decodes requests with these and never loads the SDK.
 *
 * Fields this library does not read pass through untouched.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

const Rest = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * `{ mode: "explicit" }` on a content part: the exact end of a reusable prefix (GPT-5.6 and later).
 *
 * @since 0.2.0
 * @category schemas
 */
export const PromptCacheBreakpoint = Schema.Struct({ mode: Schema.Literal("explicit") })

const breakpoint = Schema.optional(PromptCacheBreakpoint)

/**
 * @since 0.2.0
 * @category schemas
 */
export const TextPart = Schema.Struct({
  type: Schema.Literal("text"),
  text: Schema.String,
  prompt_cache_breakpoint: breakpoint
}, Rest)
/**
 * @since 0.2.0
 * @category models
 */
export type TextPart = typeof TextPart.Type

/**
 * @since 0.2.0
 * @category schemas
 */
export const ImagePart = Schema.Struct({
  type: Schema.Literal("image_url"),
  image_url: Schema.Struct({ url: Schema.String, detail: Schema.optional(Schema.String) }),
  prompt_cache_breakpoint: breakpoint
}, Rest)
/**
 * @since 0.2.0
 * @category models
 */
export type ImagePart = typeof ImagePart.Type

/**
 * @since 0.2.0
 * @category schemas
 */
export const FilePart = Schema.Struct({
  type: Schema.Literal("file"),
  file: Schema.Struct({
    file_data: Schema.optional(Schema.String),
    file_id: Schema.optional(Schema.String),
    filename: Schema.optional(Schema.String)
  }),
  prompt_cache_breakpoint: breakpoint
}, Rest)
/**
 * @since 0.2.0
 * @category models
 */
export type FilePart = typeof FilePart.Type

/**
 * Parts this library does not translate (`input_audio`, `refusal`, future ones), kept as they are.
 *
 * @since 0.2.0
 * @category schemas
 */
export const OtherPart = Schema.Struct({
  type: Schema.String.pipe(Schema.filter((t) => !["text", "image_url", "file"].includes(t))),
  prompt_cache_breakpoint: breakpoint
}, Rest)

/**
 * @since 0.2.0
 * @category schemas
 */
export const ContentPart = Schema.Union(TextPart, ImagePart, FilePart, OtherPart)
/**
 * @since 0.2.0
 * @category models
 */
export type ContentPart = typeof ContentPart.Type

const Content = Schema.Union(Schema.String, Schema.Array(ContentPart))

/**
 * @since 0.2.0
 * @category schemas
 */
export const ToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
}, Rest)
/**
 * @since 0.2.0
 * @category models
 */
export type ToolCall = typeof ToolCall.Type

/**
 * @since 0.2.0
 * @category schemas
 */
export const ChatMessage = Schema.Union(
  Schema.Struct({ role: Schema.Literal("system", "developer"), content: Content, name: Schema.optional(Schema.String) }),
  Schema.Struct({ role: Schema.Literal("user"), content: Content, name: Schema.optional(Schema.String) }),
  Schema.Struct({
    role: Schema.Literal("assistant"),
    content: Schema.optional(Schema.NullOr(Content)),
    tool_calls: Schema.optional(Schema.Array(ToolCall)),
    refusal: Schema.optional(Schema.NullOr(Schema.String)),
    name: Schema.optional(Schema.String)
  }),
  Schema.Struct({ role: Schema.Literal("tool"), tool_call_id: Schema.String, content: Content })
)
/**
 * @since 0.2.0
 * @category models
 */
export type ChatMessage = typeof ChatMessage.Type

/**
 * @since 0.2.0
 * @category schemas
 */
export const FunctionTool = Schema.Struct({
  type: Schema.Literal("function"),
  function: Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    parameters: Schema.optional(Schema.Unknown),
    strict: Schema.optional(Schema.NullOr(Schema.Boolean))
  })
})
/**
 * @since 0.2.0
 * @category models
 */
export type FunctionTool = typeof FunctionTool.Type

/**
 * `POST /v1/chat/completions`: the fields read here; the rest pass through.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ChatRequest = Schema.Struct({
  model: Schema.String.pipe(Schema.minLength(1)),
  messages: Schema.Array(ChatMessage).pipe(Schema.minItems(1)),
  max_completion_tokens: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.positive()))),
  max_tokens: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.positive()))),
  stream: Schema.optional(Schema.NullOr(Schema.Boolean)),
  stream_options: Schema.optional(Schema.NullOr(Schema.Struct({ include_usage: Schema.optional(Schema.Boolean) }, Rest))),
  tools: Schema.optional(Schema.Array(FunctionTool)),
  tool_choice: Schema.optional(Schema.Unknown),
  parallel_tool_calls: Schema.optional(Schema.Boolean),
  temperature: Schema.optional(Schema.NullOr(Schema.Number)),
  stop: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Array(Schema.String)))),
  prompt_cache_key: Schema.optional(Schema.NullOr(Schema.String)),
  prompt_cache_options: Schema.optional(Schema.Struct({
    mode: Schema.optional(Schema.Literal("implicit", "explicit")),
    ttl: Schema.optional(Schema.Literal("30m"))
  })),
  prompt_cache_retention: Schema.optional(Schema.NullOr(Schema.Literal("in_memory", "24h")))
}, Rest)
/**
 * @since 0.2.0
 * @category models
 */
export type ChatRequest = typeof ChatRequest.Type

/**
 * @since 0.2.0
 * @category decoding
 */
export const decodeChatRequest = Schema.decodeUnknown(ChatRequest, { errors: "all", onExcessProperty: "preserve" })

/**
 * `usage` of a completion (and of the last chunk of a stream with `include_usage`).
 * `prompt_tokens` includes the cached and the written tokens.
 *
 * @since 0.2.0
 * @category models
 */
export interface ChatUsage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly total_tokens: number
  readonly prompt_tokens_details?: {
    readonly cached_tokens?: number | undefined
    /** GPT-5.6 and later: prompt tokens written to the cache (billed 1.25×) */
    readonly cache_write_tokens?: number | undefined
  } | null | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface ChatCompletion {
  readonly id: string
  readonly object: "chat.completion"
  readonly created: number
  readonly model: string
  readonly choices: ReadonlyArray<{
    readonly index: number
    readonly message: {
      readonly role: "assistant"
      readonly content: string | null
      readonly refusal?: string | null | undefined
      readonly tool_calls?: ReadonlyArray<ToolCall> | undefined
    }
    readonly finish_reason: string | null
  }>
  readonly usage?: ChatUsage | undefined
}

/**
 * One chunk of a streamed completion.
 *
 * @since 0.2.0
 * @category models
 */
export interface ChatChunk {
  readonly id: string
  readonly object: "chat.completion.chunk"
  readonly created: number
  readonly model: string
  readonly choices: ReadonlyArray<{
    readonly index: number
    readonly delta: {
      readonly role?: "assistant" | undefined
      readonly content?: string | null | undefined
      readonly tool_calls?: ReadonlyArray<{
        readonly index: number
        readonly id?: string | undefined
        readonly type?: "function" | undefined
        readonly function?: { readonly name?: string | undefined; readonly arguments?: string | undefined } | undefined
      }> | undefined
    }
    readonly finish_reason: string | null
  }>
  readonly usage?: ChatUsage | null | undefined
}
