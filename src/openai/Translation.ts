/**
 * Pure translations between this library's request model (the Messages API's) and OpenAI's Chat
 * Completions, both ways: the provider sends with {@link toChatRequest} and reads with
 * {@link completionToResponse} / {@link makeChunkReader}; the simulator's server reads with
 * {@link fromChatRequest} and answers with {@link responseToCompletion} / {@link eventToChunks}.
 *
 * What has no equivalent is said, not guessed (docs/openai.md): a block OpenAI cannot carry fails with
 * `InvalidPrompt` (`not_expressible`) naming where it is; thinking blocks and `is_error` are dropped;
 * a breakpoint becomes `prompt_cache_breakpoint` on the part that ends the prefix, on models that take
 * explicit breakpoints (GPT-5.6 and later), and is dropped elsewhere and on tool definitions and tool
 * calls, which have no parts to carry it.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import type { Caching } from "../Pricing.js"
import { OPENAI_FIELDS } from "../Pricing.js"
import type { ContentBlock, Message, MessagesRequest, TextBlock } from "../Prompt.js"
import { cacheControlOf, systemBlocks } from "../Prompt.js"
import { InvalidPrompt } from "../ProviderError.js"
import type { Response, StreamEvent, Usage } from "../Response.js"
import { promptTokens } from "../Response.js"
import type { ChatChunk, ChatCompletion, ChatMessage, ChatRequest, ChatUsage, ContentPart, ToolCall } from "./ChatWire.js"

/** the `max_tokens` of a request that sets neither `max_completion_tokens` nor `max_tokens` */
const DEFAULT_MAX_TOKENS = 4096

/** request fields of OpenAI's that pass through, riding on a `MessagesRequest` as extra fields */
const PASSTHROUGH = OPENAI_FIELDS

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
type Part = Mutable<ContentPart> & Record<string, unknown>

const notExpressible = (path: string, detail: string) =>
  new InvalidPrompt({ rule: "not_expressible", path, detail: `${detail} (OpenAI Chat Completions has no equivalent)` })

const explicitMark = { prompt_cache_breakpoint: { mode: "explicit" } } as const

// =============================================================================
// Messages → Chat
// =============================================================================

/** the role of the system prompt: `developer` on the reasoning families, `system` elsewhere */
const systemRole = (model: string): "system" | "developer" => (/^(gpt-5|o\d)/.test(model) ? "developer" : "system")

const dataUrl = (source: Record<string, unknown>): string | undefined =>
  source.type === "base64" && typeof source.data === "string" && typeof source.media_type === "string"
    ? `data:${source.media_type};base64,${source.data}`
    : source.type === "url" && typeof source.url === "string"
    ? source.url
    : undefined

/** one block as a part; `marks` says whether breakpoints are carried */
const toPart = (block: ContentBlock, path: string, marks: boolean): Either.Either<Part, InvalidPrompt> => {
  const mark = marks && cacheControlOf(block) !== undefined ? explicitMark : {}
  switch (block.type) {
    case "text":
      return Either.right({ type: "text", text: (block as TextBlock).text, ...mark })
    case "image": {
      const url = dataUrl((block as { source: Record<string, unknown> }).source)
      if (url === undefined) return Either.left(notExpressible(path, "an image whose source is neither base64 nor a URL"))
      return Either.right({ type: "image_url", image_url: { url }, ...mark })
    }
    case "document": {
      const source = (block as { source: Record<string, unknown> }).source
      if (source.type === "text" && typeof source.data === "string") return Either.right({ type: "text", text: source.data, ...mark })
      if (source.type === "base64") {
        const title = (block as { title?: unknown }).title
        return Either.right({
          type: "file",
          file: { file_data: dataUrl(source)!, filename: typeof title === "string" ? title : "document.pdf" },
          ...mark
        })
      }
      return Either.left(notExpressible(path, `a document whose source is ${String(source.type)}`))
    }
    default:
      return Either.left(notExpressible(path, `a ${block.type} block`))
  }
}

const toParts = (
  blocks: ReadonlyArray<ContentBlock>,
  path: string,
  marks: boolean
): Either.Either<Array<Part>, InvalidPrompt> => Either.all(blocks.map((b, j) => toPart(b, `${path}[${j}]`, marks)))

/** a tool result's content as a `tool` message's: a string, or text parts (the breakpoint on the last) */
const toolContent = (
  block: Extract<ContentBlock, { type: "tool_result" }>,
  path: string,
  marks: boolean
): Either.Either<string | Array<Part>, InvalidPrompt> => {
  const marked = marks && cacheControlOf(block) !== undefined
  const content = block.content ?? ""
  if (typeof content === "string") return Either.right(marked ? [{ type: "text", text: content, ...explicitMark }] : content)
  return Either.flatMap(toParts(content, `${path}.content`, false), (parts) => {
    const bad = parts.findIndex((p) => p.type !== "text")
    if (bad >= 0) return Either.left(notExpressible(`${path}.content[${bad}]`, "a tool result that is not text"))
    if (marked && parts.length > 0) parts[parts.length - 1] = { ...parts[parts.length - 1]!, ...explicitMark }
    return Either.right(parts)
  })
}

const userMessages = (message: Message, path: string, marks: boolean): Either.Either<Array<ChatMessage>, InvalidPrompt> => {
  if (typeof message.content === "string") return Either.right([{ role: "user", content: message.content }])
  const out: Array<ChatMessage> = []
  const rest: Array<ContentBlock> = []
  const restPaths: Array<string> = []
  for (const [j, block] of message.content.entries()) {
    if (block.type === "tool_result") {
      const result = block as Extract<ContentBlock, { type: "tool_result" }>
      const content = toolContent(result, `${path}.content[${j}]`, marks)
      if (Either.isLeft(content)) return Either.left(content.left)
      out.push({ role: "tool", tool_call_id: result.tool_use_id, content: content.right as never })
    } else {
      rest.push(block)
      restPaths.push(`${path}.content[${j}]`)
    }
  }
  if (rest.length === 0) return Either.right(out)
  const parts = Either.all(rest.map((b, k) => toPart(b, restPaths[k]!, marks)))
  return Either.map(parts, (p) => [...out, { role: "user", content: p as never }])
}

const assistantMessage = (message: Message, path: string, marks: boolean): Either.Either<ChatMessage, InvalidPrompt> => {
  if (typeof message.content === "string") return Either.right({ role: "assistant", content: message.content })
  const parts: Array<Part> = []
  const calls: Array<ToolCall> = []
  for (const [j, block] of message.content.entries()) {
    if (block.type === "thinking" || block.type === "redacted_thinking") continue
    if (block.type === "tool_use") {
      const use = block as Extract<ContentBlock, { type: "tool_use" }>
      calls.push({ id: use.id, type: "function", function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } })
      continue
    }
    if (block.type !== "text") return Either.left(notExpressible(`${path}.content[${j}]`, `a ${block.type} block in an assistant message`))
    parts.push({ type: "text", text: (block as TextBlock).text, ...(marks && cacheControlOf(block) !== undefined ? explicitMark : {}) })
  }
  return Either.right({
    role: "assistant",
    content: parts.length === 0 ? null : parts as never,
    ...(calls.length > 0 ? { tool_calls: calls } : {})
  })
}

const toolChoice = (choice: Record<string, unknown> | undefined): { readonly tool_choice?: unknown; readonly parallel_tool_calls?: boolean } => {
  if (choice === undefined) return {}
  const parallel = choice.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {}
  switch (choice.type) {
    case "any":
      return { tool_choice: "required", ...parallel }
    case "none":
      return { tool_choice: "none" }
    case "tool":
      return { tool_choice: { type: "function", function: { name: choice.name } }, ...parallel }
    default:
      return { tool_choice: "auto", ...parallel }
  }
}

/**
 * A `MessagesRequest` as a Chat Completions request (without `stream`, the transport's business).
 * `caching` is the model's: breakpoints are carried only under `openai-breakpoints`.
 *
 * @since 0.2.0
 * @category requests
 */
export const toChatRequest = (
  request: MessagesRequest,
  caching: Caching
): Either.Either<Record<string, unknown>, InvalidPrompt> => {
  const marks = caching === "openai-breakpoints"
  const messages: Array<ChatMessage> = []
  const system = systemBlocks(request.system)
  if (system.length > 0) {
    const role = systemRole(request.model)
    if (typeof request.system === "string") messages.push({ role, content: request.system })
    else {
      const parts = toParts(system, "system", marks)
      if (Either.isLeft(parts)) return Either.left(parts.left)
      messages.push({ role, content: parts.right as never })
    }
  }
  for (const [i, message] of request.messages.entries()) {
    const path = `messages[${i}]`
    if (message.role === "user") {
      const translated = userMessages(message, path, marks)
      if (Either.isLeft(translated)) return Either.left(translated.left)
      messages.push(...translated.right)
    } else {
      const translated = assistantMessage(message, path, marks)
      if (Either.isLeft(translated)) return Either.left(translated.left)
      messages.push(translated.right)
    }
  }
  const tools: Array<Record<string, unknown>> = []
  for (const [i, tool] of (request.tools ?? []).entries()) {
    if (tool.input_schema === undefined) return Either.left(notExpressible(`tools[${i}]`, `the server tool ${tool.name}`))
    tools.push({
      type: "function",
      function: { name: tool.name, ...(tool.description !== undefined ? { description: tool.description } : {}), parameters: tool.input_schema }
    })
  }
  const extra = request as Record<string, unknown>
  const passthrough = Object.fromEntries(PASSTHROUGH.filter((k) => extra[k] !== undefined).map((k) => [k, extra[k]]))
  return Either.right({
    model: request.model,
    messages,
    // a warm call (`max_tokens: 0`) is one output token here: OpenAI takes no zero
    max_completion_tokens: Math.max(1, request.max_tokens),
    ...(tools.length > 0 ? { tools } : {}),
    ...toolChoice(request.tool_choice),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.stop_sequences !== undefined ? { stop: request.stop_sequences } : {}),
    ...passthrough
  })
}

// =============================================================================
// Chat → Messages (the simulator's server)
// =============================================================================

const parseDataUrl = (url: string): { readonly media_type: string; readonly data: string } | undefined => {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url)
  return m === null ? undefined : { media_type: m[1]!, data: m[2]! }
}

const cc = (part: { readonly prompt_cache_breakpoint?: unknown }) =>
  part.prompt_cache_breakpoint !== undefined ? { cache_control: { type: "ephemeral" as const } } : {}

const fromPart = (part: ContentPart): ContentBlock => {
  switch (part.type) {
    case "text":
      return { type: "text", text: (part as { text: string }).text, ...cc(part) }
    case "image_url": {
      const url = (part as { image_url: { url: string } }).image_url.url
      const data = parseDataUrl(url)
      return { type: "image", source: data !== undefined ? { type: "base64", ...data } : { type: "url", url }, ...cc(part) }
    }
    case "file": {
      const file = (part as { file: { file_data?: string; file_id?: string; filename?: string } }).file
      const data = file.file_data !== undefined ? parseDataUrl(file.file_data) : undefined
      return {
        type: "document",
        source: data !== undefined ? { type: "base64", ...data } : { type: "file", file_id: file.file_id ?? "" },
        ...(file.filename !== undefined ? { title: file.filename } : {}),
        ...cc(part)
      }
    }
    default: {
      // kept as it is (input_audio, refusal, …): an unknown block to the library
      const { prompt_cache_breakpoint: _bp, ...rest } = part as Record<string, unknown>
      return { ...(rest as { type: string }), ...cc(part) }
    }
  }
}

const fromContent = (content: string | ReadonlyArray<ContentPart>): Message["content"] =>
  typeof content === "string" ? content : content.map(fromPart)

const asBlocks = (content: Message["content"]): ReadonlyArray<ContentBlock> =>
  typeof content === "string" ? (content === "" ? [] : [{ type: "text", text: content }]) : content

/** consecutive messages of one role become one, as the Messages API requires */
const merge = (messages: ReadonlyArray<Message>): Array<Message> => {
  const out: Array<Message> = []
  for (const m of messages) {
    const last = out[out.length - 1]
    if (last !== undefined && last.role === m.role) {
      out[out.length - 1] = { role: m.role, content: [...asBlocks(last.content), ...asBlocks(m.content)] }
    } else out.push(m)
  }
  return out
}

const fromToolChoice = (choice: unknown, parallel: boolean | undefined): Record<string, unknown> | undefined => {
  const disable = parallel === false ? { disable_parallel_tool_use: true } : {}
  if (choice === undefined || choice === null) return parallel === false ? { type: "auto", ...disable } : undefined
  if (choice === "required") return { type: "any", ...disable }
  if (choice === "none") return { type: "none" }
  if (typeof choice === "object" && (choice as { type?: unknown }).type === "function") {
    return { type: "tool", name: (choice as { function?: { name?: unknown } }).function?.name, ...disable }
  }
  return { type: "auto", ...disable }
}

/**
 * A Chat Completions request as a `MessagesRequest`: leading system / developer messages become the
 * system prompt, `tool` messages become `tool_result` blocks, `prompt_cache_breakpoint` becomes
 * `cache_control`, and OpenAI's own fields (`prompt_cache_key`, `prompt_cache_options`, …) ride along
 * as extra fields for the simulator to read.
 *
 * @since 0.2.0
 * @category requests
 */
export const fromChatRequest = (body: ChatRequest): Either.Either<MessagesRequest, InvalidPrompt> => {
  let i = 0
  const system: Array<TextBlock> = []
  let systemString: string | undefined
  for (; i < body.messages.length; i++) {
    const m = body.messages[i]!
    if (m.role !== "system" && m.role !== "developer") break
    if (typeof m.content === "string" && i === 0 && (body.messages[1]?.role !== "system" && body.messages[1]?.role !== "developer")) {
      systemString = m.content
      continue
    }
    for (const [j, part] of (typeof m.content === "string" ? [{ type: "text" as const, text: m.content }] : m.content).entries()) {
      if (part.type !== "text") return Either.left(notExpressible(`messages[${i}].content[${j}]`, `a ${part.type} part in a system message`))
      system.push(fromPart(part) as TextBlock)
    }
  }
  const messages: Array<Message> = []
  for (; i < body.messages.length; i++) {
    const m = body.messages[i]!
    switch (m.role) {
      case "system":
      case "developer":
      case "user":
        messages.push({ role: "user", content: fromContent(m.content) })
        break
      case "tool": {
        const parts = typeof m.content === "string" ? undefined : m.content
        const marked = parts?.some((p) => p.prompt_cache_breakpoint !== undefined) ?? false
        messages.push({
          role: "user",
          content: [{
            type: "tool_result",
            tool_use_id: m.tool_call_id,
            // one text part reads as a string: a tool result keeps one shape whether a breakpoint
            // marked it (a part) or not (a string), so its prefix fingerprints the same either way
            content: parts === undefined ? m.content as string : parts.length === 1 && parts[0]!.type === "text" ? (parts[0] as { text: string }).text : parts.map((p) => {
              // the mark belongs to the tool_result block, below, not to its text
              const { cache_control: _cc, ...block } = fromPart(p) as TextBlock
              return block as TextBlock
            }),
            ...(marked ? { cache_control: { type: "ephemeral" as const } } : {})
          }]
        })
        break
      }
      case "assistant": {
        const blocks: Array<ContentBlock> = [...asBlocks(m.content === undefined || m.content === null ? "" : fromContent(m.content))]
        for (const [j, call] of (m.tool_calls ?? []).entries()) {
          let input: unknown
          try {
            input = JSON.parse(call.function.arguments === "" ? "{}" : call.function.arguments)
          } catch {
            return Either.left(
              new InvalidPrompt({
                rule: "invalid_shape",
                path: `messages[${i}].tool_calls[${j}].function.arguments`,
                detail: "the arguments are not JSON"
              })
            )
          }
          blocks.push({ type: "tool_use", id: call.id, name: call.function.name, input })
        }
        messages.push({
          role: "assistant",
          content: (m.tool_calls ?? []).length === 0 && typeof m.content === "string" ? m.content : blocks
        })
        break
      }
    }
  }
  const extra = body as Record<string, unknown>
  const passthrough = Object.fromEntries(PASSTHROUGH.filter((k) => extra[k] !== undefined && extra[k] !== null).map((k) => [k, extra[k]]))
  const choice = fromToolChoice(body.tool_choice, body.parallel_tool_calls)
  const stop = body.stop === undefined || body.stop === null ? undefined : typeof body.stop === "string" ? [body.stop] : body.stop
  return Either.right({
    model: body.model,
    max_tokens: body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_TOKENS,
    messages: merge(messages),
    ...(systemString !== undefined ? { system: systemString } : system.length > 0 ? { system } : {}),
    ...(body.tools !== undefined && body.tools.length > 0
      ? {
        tools: body.tools.map((t) => ({
          name: t.function.name,
          ...(t.function.description !== undefined ? { description: t.function.description } : {}),
          input_schema: t.function.parameters ?? { type: "object", properties: {} }
        }))
      }
      : {}),
    ...(choice !== undefined ? { tool_choice: choice } : {}),
    ...(body.temperature !== undefined && body.temperature !== null ? { temperature: body.temperature } : {}),
    ...(stop !== undefined ? { stop_sequences: stop } : {}),
    ...(body.stream === true ? { stream: true } : {}),
    ...passthrough
  })
}

// =============================================================================
// usage and responses
// =============================================================================

/**
 * OpenAI's usage as the library's: cached tokens are reads, `cache_write_tokens` (GPT-5.6 and later)
 * are writes — counted in the short-TTL bucket, `cacheCreation5m`, as OpenAI has one retention per
 * request —, the rest of the prompt is plain input.
 *
 * @since 0.2.0
 * @category usage
 */
export const usageFromChat = (u: ChatUsage | null | undefined): Usage => {
  const read = u?.prompt_tokens_details?.cached_tokens ?? 0
  const written = u?.prompt_tokens_details?.cache_write_tokens ?? 0
  return {
    input: Math.max(0, (u?.prompt_tokens ?? 0) - read - written),
    cacheCreation5m: written,
    cacheCreation1h: 0,
    cacheRead: read,
    output: u?.completion_tokens ?? 0
  }
}

/**
 * The library's usage as OpenAI reports it (`cache_write_tokens` only on models that report writes).
 *
 * @since 0.2.0
 * @category usage
 */
export const usageToChat = (u: Usage, caching: Caching): ChatUsage => {
  const prompt = promptTokens(u)
  return {
    prompt_tokens: prompt,
    completion_tokens: u.output,
    total_tokens: prompt + u.output,
    prompt_tokens_details: {
      cached_tokens: u.cacheRead,
      ...(caching === "openai-breakpoints" ? { cache_write_tokens: u.cacheCreation5m + u.cacheCreation1h } : {})
    }
  }
}

/**
 * @since 0.2.0
 * @category responses
 */
export const finishToStop = (finish: string | null | undefined): string | null => {
  switch (finish) {
    case "stop":
      return "end_turn"
    case "length":
      return "max_tokens"
    case "tool_calls":
    case "function_call":
      return "tool_use"
    case "content_filter":
      return "refusal"
    default:
      return finish ?? null
  }
}

/**
 * @since 0.2.0
 * @category responses
 */
export const stopToFinish = (stop: string | null): string | null => {
  switch (stop) {
    case "end_turn":
    case "stop_sequence":
      return "stop"
    case "max_tokens":
      return "length"
    case "tool_use":
      return "tool_calls"
    case "refusal":
      return "content_filter"
    default:
      return stop
  }
}

const parseArguments = (args: string): unknown => {
  try {
    return JSON.parse(args === "" ? "{}" : args)
  } catch {
    return {}
  }
}

/**
 * @since 0.2.0
 * @category responses
 */
export const completionToResponse = (c: ChatCompletion, requestId: string | undefined): Response => {
  const choice = c.choices[0]
  const content: Array<Record<string, unknown>> = []
  const text = choice?.message.content
  if (typeof text === "string" && text !== "") content.push({ type: "text", text })
  for (const call of choice?.message.tool_calls ?? []) {
    content.push({ type: "tool_use", id: call.id, name: call.function.name, input: parseArguments(call.function.arguments) })
  }
  return {
    id: c.id,
    model: c.model,
    content,
    stopReason: finishToStop(choice?.finish_reason),
    usage: usageFromChat(c.usage),
    ...(requestId !== undefined ? { requestId } : {})
  }
}

const toolCallsOf = (response: Response): Array<ToolCall> =>
  response.content.filter((b) => b.type === "tool_use").map((b) => ({
    id: String(b.id),
    type: "function" as const,
    function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) }
  }))

/**
 * @since 0.2.0
 * @category responses
 */
export const responseToCompletion = (r: Response, caching: Caching, created: number): ChatCompletion => {
  const text = r.content.filter((b) => b.type === "text").map((b) => String(b.text)).join("")
  const calls = toolCallsOf(r)
  return {
    id: r.id,
    object: "chat.completion",
    created,
    model: r.model,
    choices: [{
      index: 0,
      message: { role: "assistant", content: text === "" && calls.length > 0 ? null : text, refusal: null, ...(calls.length > 0 ? { tool_calls: calls } : {}) },
      finish_reason: stopToFinish(r.stopReason)
    }],
    usage: usageToChat(r.usage, caching)
  }
}

// =============================================================================
// streams
// =============================================================================

/**
 * The chunks a server sends for one event of a streamed response: the role chunk when it begins, a
 * content chunk per text delta, and at the end the tool calls, the finish reason and (with
 * `include_usage`) the usage chunk. The server adds `data: [DONE]`.
 *
 * @since 0.2.0
 * @category streams
 */
export const eventToChunks = (
  event: StreamEvent,
  meta: { readonly id: string; readonly model: string; readonly created: number; readonly caching: Caching; readonly includeUsage: boolean }
): ReadonlyArray<ChatChunk> => {
  const chunk = (delta: ChatChunk["choices"][number]["delta"], finish: string | null = null): ChatChunk => ({
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, delta, finish_reason: finish }]
  })
  switch (event._tag) {
    case "Begun":
      return [chunk({ role: "assistant", content: "" })]
    case "TextDelta":
      return [chunk({ content: event.text })]
    case "Completed": {
      const calls = toolCallsOf(event.response)
      return [
        ...calls.map((c, index) => chunk({ tool_calls: [{ index, id: c.id, type: "function", function: c.function }] })),
        chunk({}, stopToFinish(event.response.stopReason)),
        ...(meta.includeUsage
          ? [{ id: meta.id, object: "chat.completion.chunk" as const, created: meta.created, model: meta.model, choices: [], usage: usageToChat(event.response.usage, meta.caching) }]
          : [])
      ]
    }
  }
}

/**
 * Reads a streamed completion chunk by chunk: `step` turns each chunk into the library's events
 * (`Begun` at the first chunk — OpenAI reports usage only at the end, so its usage is unknown then —,
 * text deltas), and `finish` gives the `Completed` event once the stream has ended, or `undefined` if
 * it ended before a finish reason.
 *
 * @since 0.2.0
 * @category streams
 */
export const makeChunkReader = (model: string, requestId: string | undefined) => {
  let id = ""
  let begun = false
  let text = ""
  let finish: string | null | undefined
  let usage: ChatUsage | null | undefined
  const calls: Array<{ id: string; name: string; arguments: string }> = []
  const step = (c: ChatChunk): ReadonlyArray<StreamEvent> => {
    const out: Array<StreamEvent> = []
    if (!begun) {
      begun = true
      id = c.id
      model = c.model || model
      out.push({ _tag: "Begun", id, model, usage: undefined })
    }
    if (c.usage !== undefined && c.usage !== null) usage = c.usage
    for (const choice of c.choices) {
      const delta = choice.delta
      if (typeof delta.content === "string" && delta.content !== "") {
        text += delta.content
        out.push({ _tag: "TextDelta", text: delta.content })
      }
      for (const call of delta.tool_calls ?? []) {
        const slot = calls[call.index] ?? (calls[call.index] = { id: "", name: "", arguments: "" })
        if (call.id !== undefined) slot.id = call.id
        if (call.function?.name !== undefined) slot.name += call.function.name
        if (call.function?.arguments !== undefined) slot.arguments += call.function.arguments
      }
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) finish = choice.finish_reason
    }
    return out
  }
  const completed = (): StreamEvent | undefined => {
    if (finish === undefined) return undefined
    const content: Array<Record<string, unknown>> = []
    if (text !== "") content.push({ type: "text", text })
    for (const call of calls.filter((c) => c !== undefined)) {
      content.push({ type: "tool_use", id: call.id, name: call.name, input: parseArguments(call.arguments) })
    }
    return {
      _tag: "Completed",
      response: {
        id,
        model,
        content,
        stopReason: finishToStop(finish),
        usage: usageFromChat(usage),
        ...(requestId !== undefined ? { requestId } : {})
      }
    }
  }
  return { step, completed }
}
