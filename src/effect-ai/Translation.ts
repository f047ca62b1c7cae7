/**
 * An `@effect/ai` prompt as the core sees a request: tools, system and messages in the Messages API's
 * shape, so the core's prefix fingerprints, breakpoint planner and skips apply to it unchanged — and
 * back: the planner's breakpoints set as the `cacheControl` options `@effect/ai-anthropic` turns into
 * `cache_control` (on a system message, or on a part of a message).
 *
 * Each `@effect/ai` message is one message of the request (`tool` messages become `user` ones, as the
 * provider layer groups them), each part one block, in order; what cannot be marked (a tool: the
 * provider layer sets no `cache_control` on tools) is left to the breakpoints after it. Pure.
 *
 * @since 0.3.0
 */
import * as AiPrompt from "@effect/ai/Prompt"
import * as AiTool from "@effect/ai/Tool"
import { createHash } from "node:crypto"
import type { CacheControl, CacheTtl, ContentBlock, Message, MessagesRequest, TextBlock, Tool } from "../Prompt.js"

/**
 * Where a position of the request is in the `@effect/ai` prompt: a system message, or a part of a
 * message (by their indices in `prompt.content` and in the message's content).
 *
 * @since 0.3.0
 * @category models
 */
export type Target =
  | { readonly _tag: "System"; readonly message: number }
  | { readonly _tag: "Part"; readonly message: number; readonly part: number }
  | { readonly _tag: "Tool" }

/**
 * @since 0.3.0
 * @category models
 */
export interface Translated {
  readonly request: MessagesRequest
  /** whether the app put a cache control of its own anywhere in the prompt */
  readonly marked: boolean
  /** the prompt's place of each position of the request, in the core's position order */
  readonly targets: ReadonlyArray<Target>
}

interface AnthropicOptions {
  readonly cacheControl?: { readonly type: "ephemeral"; readonly ttl?: "5m" | "1h" | undefined } | undefined
}

const anthropicOf = (options: unknown): AnthropicOptions | undefined =>
  (options as { readonly anthropic?: AnthropicOptions } | undefined)?.anthropic

const cacheControlOf = (options: unknown): CacheControl | undefined => {
  const cc = anthropicOf(options)?.cacheControl
  return cc === undefined ? undefined : cc.ttl === "1h" ? { type: "ephemeral", ttl: "1h" } : { type: "ephemeral" }
}

/** a file's bytes as a digest: the prefix changes when the file does, and no content is kept */
const digest = (data: string | Uint8Array | URL): string =>
  createHash("sha256").update(data instanceof URL ? data.href : data).digest("hex").slice(0, 32)

const json = (u: unknown): string => {
  try {
    return JSON.stringify(u) ?? ""
  } catch {
    return String(u)
  }
}

/** one part as one block; `cc` is the part's cache control (or its message's, on its last part) */
const block = (part: AiPrompt.Part, cc: CacheControl | undefined): ContentBlock => {
  const withCc = <A extends object>(b: A): A => (cc === undefined ? b : { ...b, cache_control: cc })
  switch (part.type) {
    case "text":
      return withCc({ type: "text" as const, text: part.text })
    case "reasoning":
      return { type: "thinking" as const, thinking: part.text, signature: "" }
    case "file":
      return withCc({ type: "text" as const, text: `[file ${part.mediaType} ${digest(part.data)}]` })
    case "tool-call":
      return withCc({ type: "tool_use" as const, id: part.id, name: part.name, input: part.params })
    case "tool-result":
      return withCc({ type: "tool_result" as const, tool_use_id: part.id, content: json(part.result), is_error: part.isFailure })
  }
}

/**
 * The request the core sees for an `@effect/ai` prompt and its tools, under `model`.
 *
 * @since 0.3.0
 * @category translation
 */
export const toRequest = (prompt: AiPrompt.Prompt, tools: ReadonlyArray<AiTool.Any>, model: string): Translated => {
  const targets: Array<Target> = []
  let marked = false
  const requestTools: Array<Tool> = tools.map((tool) => {
    targets.push({ _tag: "Tool" })
    return { name: tool.name, description: AiTool.getDescription(tool as never) ?? "", input_schema: AiTool.getJsonSchema(tool as never) } as Tool
  })
  const system: Array<TextBlock> = []
  prompt.content.forEach((message, m) => {
    if (message.role !== "system") return
    const cc = cacheControlOf(message.options)
    if (cc !== undefined) marked = true
    system.push(cc === undefined ? { type: "text", text: message.content } : { type: "text", text: message.content, cache_control: cc })
    targets.push({ _tag: "System", message: m })
  })
  const messages: Array<Message> = []
  prompt.content.forEach((message, m) => {
    if (message.role === "system") return
    const messageCc = cacheControlOf(message.options)
    const parts = message.content as ReadonlyArray<AiPrompt.Part>
    const content = parts.map((part, p) => {
      const cc = cacheControlOf(part.options) ?? (p === parts.length - 1 ? messageCc : undefined)
      if (cc !== undefined) marked = true
      targets.push({ _tag: "Part", message: m, part: p })
      return block(part, cc)
    })
    messages.push({ role: message.role === "assistant" ? "assistant" : "user", content })
  })
  return {
    request: {
      model,
      max_tokens: 1,
      ...(requestTools.length > 0 ? { tools: requestTools } : {}),
      ...(system.length > 0 ? { system } : {}),
      messages
    } as MessagesRequest,
    marked,
    targets
  }
}

const withCacheControl = (options: object, ttl: CacheTtl): object => {
  const anthropic = anthropicOf(options) ?? {}
  return { ...options, anthropic: { ...anthropic, cacheControl: ttl === "1h" ? { type: "ephemeral", ttl: "1h" } : { type: "ephemeral" } } }
}

/**
 * The prompt with a cache control on each of `marks` (positions of the request, with their TTL):
 * on the system message, or on the part. Marks on tools are not placed (see the module's note).
 *
 * @since 0.3.0
 * @category translation
 */
export const applyMarks = (
  prompt: AiPrompt.Prompt,
  targets: ReadonlyArray<Target>,
  marks: ReadonlyMap<number, CacheTtl>
): AiPrompt.Prompt => {
  const byMessage = new Map<number, Map<number | "message", CacheTtl>>()
  for (const [index, ttl] of marks) {
    const target = targets[index]
    if (target === undefined || target._tag === "Tool") continue
    const inner = byMessage.get(target.message) ?? new Map<number | "message", CacheTtl>()
    inner.set(target._tag === "System" ? "message" : target.part, ttl)
    byMessage.set(target.message, inner)
  }
  if (byMessage.size === 0) return prompt
  const content = prompt.content.map((message, m): AiPrompt.Message => {
    const inner = byMessage.get(m)
    if (inner === undefined) return message
    if (message.role === "system") return { ...message, options: withCacheControl(message.options, inner.get("message")!) } as AiPrompt.Message
    return {
      ...message,
      content: (message.content as ReadonlyArray<AiPrompt.Part>).map((part, p) => {
        const ttl = inner.get(p)
        return ttl === undefined ? part : { ...part, options: withCacheControl(part.options, ttl) }
      })
    } as AiPrompt.Message
  })
  return AiPrompt.fromMessages(content)
}

/**
 * Whether a position can carry a breakpoint through the provider layer.
 *
 * @since 0.3.0
 * @category translation
 */
export const markable = (targets: ReadonlyArray<Target>, index: number): boolean => {
  const target = targets[index]
  return target !== undefined && target._tag !== "Tool"
}
