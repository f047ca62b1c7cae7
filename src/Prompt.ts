/**
 * The subset of the Anthropic Messages request that this project handles, as `effect/Schema`s.
 *
 * Known content blocks are decoded strictly; block types this library does not know (server tools,
 * search results, future additions) pass through untouched, so the library never blocks a newer API.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ObjectMemo } from "./internal/objectMemo.js"

const Rest = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * @since 0.1.0
 * @category schemas
 */
export const CacheTtl = Schema.Literal("5m", "1h")
/**
 * @since 0.1.0
 * @category models
 */
export type CacheTtl = typeof CacheTtl.Type

/**
 * How long an entry lives after it was written or last read.
 *
 * @since 0.1.0
 * @category utils
 */
export const ttlMillis = (ttl: CacheTtl): number => (ttl === "1h" ? 3_600_000 : 300_000)

/**
 * `{ type: "ephemeral", ttl?: "5m" | "1h" }`. A missing ttl means 5 minutes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CacheControl = Schema.Struct({
  type: Schema.Literal("ephemeral"),
  ttl: Schema.optional(CacheTtl)
})
/**
 * @since 0.1.0
 * @category models
 */
export type CacheControl = typeof CacheControl.Type

const cacheControl = Schema.optional(CacheControl)

/**
 * @since 0.1.0
 * @category schemas
 */
export const TextBlock = Schema.Struct({
  type: Schema.Literal("text"),
  text: Schema.String,
  cache_control: cacheControl
}, Rest)
/**
 * @since 0.1.0
 * @category models
 */
export type TextBlock = typeof TextBlock.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const ImageBlock = Schema.Struct({
  type: Schema.Literal("image"),
  source: Rest,
  cache_control: cacheControl
}, Rest)
/**
 * @since 0.1.0
 * @category models
 */
export type ImageBlock = typeof ImageBlock.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const DocumentBlock = Schema.Struct({
  type: Schema.Literal("document"),
  source: Rest,
  cache_control: cacheControl
}, Rest)
/**
 * @since 0.1.0
 * @category models
 */
export type DocumentBlock = typeof DocumentBlock.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const ToolUseBlock = Schema.Struct({
  type: Schema.Literal("tool_use"),
  id: Schema.String,
  name: Schema.String,
  input: Schema.Unknown,
  cache_control: cacheControl
}, Rest)
/**
 * @since 0.1.0
 * @category models
 */
export type ToolUseBlock = typeof ToolUseBlock.Type

const KNOWN_BLOCK_TYPES: ReadonlySet<string> = new Set([
  "text",
  "image",
  "document",
  "tool_use",
  "tool_result",
  "thinking",
  "redacted_thinking"
])

/**
 * A block whose `type` this library does not know. It is kept byte for byte.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UnknownBlock = Schema.Struct({
  type: Schema.String.pipe(
    Schema.filter((t) => !KNOWN_BLOCK_TYPES.has(t), {
      message: () => "a block of a known type failed its own schema"
    })
  )
}, Rest)
/**
 * @since 0.1.0
 * @category models
 */
export type UnknownBlock = typeof UnknownBlock.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const ToolResultBlock = Schema.Struct({
  type: Schema.Literal("tool_result"),
  tool_use_id: Schema.String,
  content: Schema.optional(
    Schema.Union(Schema.String, Schema.Array(Schema.Union(TextBlock, ImageBlock, DocumentBlock, UnknownBlock)))
  ),
  is_error: Schema.optional(Schema.Boolean),
  cache_control: cacheControl
}, Rest)
/**
 * @since 0.1.0
 * @category models
 */
export type ToolResultBlock = typeof ToolResultBlock.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const ThinkingBlock = Schema.Struct({
  type: Schema.Literal("thinking"),
  thinking: Schema.String,
  signature: Schema.String
}, Rest)
/**
 * @since 0.1.0
 * @category models
 */
export type ThinkingBlock = typeof ThinkingBlock.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const RedactedThinkingBlock = Schema.Struct({
  type: Schema.Literal("redacted_thinking"),
  data: Schema.String
}, Rest)
/**
 * @since 0.1.0
 * @category models
 */
export type RedactedThinkingBlock = typeof RedactedThinkingBlock.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const ContentBlock = Schema.Union(
  TextBlock,
  ImageBlock,
  DocumentBlock,
  ToolUseBlock,
  ToolResultBlock,
  ThinkingBlock,
  RedactedThinkingBlock,
  UnknownBlock
)
/**
 * @since 0.1.0
 * @category models
 */
export type ContentBlock = typeof ContentBlock.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const Message = Schema.Struct({
  role: Schema.Literal("user", "assistant"),
  content: Schema.Union(Schema.String, Schema.Array(ContentBlock))
})
/**
 * @since 0.1.0
 * @category models
 */
export type Message = typeof Message.Type

/**
 * A tool definition: client tools carry `input_schema`; server tools carry a `type`. Other fields
 * pass through.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Tool = Schema.Struct({
  name: Schema.String,
  description: Schema.optional(Schema.String),
  input_schema: Schema.optional(Schema.Unknown),
  cache_control: cacheControl
}, Rest)
/**
 * @since 0.1.0
 * @category models
 */
export type Tool = typeof Tool.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const System = Schema.Union(Schema.String, Schema.Array(TextBlock))
/**
 * @since 0.1.0
 * @category models
 */
export type System = typeof System.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const MessagesRequest = Schema.Struct({
  model: Schema.String.pipe(Schema.minLength(1)),
  max_tokens: Schema.Int.pipe(Schema.nonNegative()),
  messages: Schema.Array(Message),
  system: Schema.optional(System),
  tools: Schema.optional(Schema.Array(Tool)),
  tool_choice: Schema.optional(Rest),
  thinking: Schema.optional(Rest),
  cache_control: cacheControl,
  stream: Schema.optional(Schema.Boolean),
  temperature: Schema.optional(Schema.Number),
  stop_sequences: Schema.optional(Schema.Array(Schema.String)),
  metadata: Schema.optional(Rest)
}, Rest)
/**
 * @since 0.1.0
 * @category models
 */
export type MessagesRequest = typeof MessagesRequest.Type

/**
 * @since 0.1.0
 * @category decoding
 */
export const decodeRequest = Schema.decodeUnknown(MessagesRequest, { errors: "all", onExcessProperty: "preserve" })

/**
 * The content of a message as blocks (a string is one text block).
 *
 * @since 0.1.0
 * @category utils
 */
export const contentBlocks = (message: Message): ReadonlyArray<ContentBlock> => {
  if (typeof message.content !== "string") return message.content
  // the same block objects every time, so per-block memos (fingerprints, token counts) hit
  let blocks = stringBlocks.get(message)
  if (blocks === undefined) {
    blocks = [{ type: "text", text: message.content }]
    stringBlocks.set(message, blocks)
  }
  return blocks
}

const stringBlocks = new ObjectMemo<ReadonlyArray<ContentBlock>>("stringBlocks")
const stringSystems = new Map<string, ReadonlyArray<TextBlock>>()

/**
 * The system prompt as text blocks.
 *
 * @since 0.1.0
 * @category utils
 */
export const systemBlocks = (system: System | undefined): ReadonlyArray<TextBlock> => {
  if (system === undefined || system === "") return []
  if (typeof system !== "string") return system
  let blocks = stringSystems.get(system)
  if (blocks === undefined) {
    blocks = [{ type: "text", text: system }]
    if (stringSystems.size >= 64) stringSystems.clear()
    stringSystems.set(system, blocks)
  }
  return blocks
}

/**
 * The cache control a block carries, if any.
 *
 * @since 0.1.0
 * @category utils
 */
export const cacheControlOf = (block: unknown): CacheControl | undefined => {
  if (typeof block === "object" && block !== null && "cache_control" in block) {
    const cc = (block as { cache_control?: unknown }).cache_control
    if (typeof cc === "object" && cc !== null) return cc as CacheControl
  }
  return undefined
}

/**
 * Whether thinking is enabled on a request.
 *
 * @since 0.1.0
 * @category utils
 */
export const thinkingEnabled = (request: MessagesRequest): boolean =>
  request.thinking !== undefined && (request.thinking as { type?: unknown }).type === "enabled"

/**
 * Whether `tool_choice` forces a tool (`any` or `tool`).
 *
 * @since 0.1.0
 * @category utils
 */
export const forcedToolChoice = (request: MessagesRequest): boolean => {
  const t = request.tool_choice === undefined ? undefined : (request.tool_choice as { type?: unknown }).type
  return t === "any" || t === "tool"
}
