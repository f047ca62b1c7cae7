/**
 * OpenAI's Responses API (`POST /v1/responses`) in terms of Chat Completions: a Responses body as the
 * Chat body it asks for (`instructions` and `input` items as messages, function tools as tools), and
 * a completion — whole, or chunk by chunk — as the Responses object and its server-sent events. The
 * simulator answers `/v1/responses` so (clients such as `@effect/ai-openai` speak only this API); the
 * cache rules are the same, they belong to the model and the prompt, not the endpoint.
 *
 * Pure; the subset of the API that text and function calling use (no built-in tools, no stored
 * conversations: `previous_response_id` is refused).
 *
 * @since 0.3.0
 */
import * as Either from "effect/Either"
import type { ChatChunk, ChatCompletion, ChatUsage } from "./ChatWire.js"

type Json = Record<string, unknown>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** the text of a Responses content (a string, or parts with `text`) */
const textOf = (content: unknown): string | undefined => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return undefined
  const texts: Array<string> = []
  for (const part of content) {
    if (!isObject(part) || typeof part.text !== "string") return undefined
    texts.push(part.text)
  }
  return texts.join("")
}

/** one `input` item as a Chat message, or what is wrong with it */
const messageOf = (item: unknown, at: string): Either.Either<Json, string> => {
  if (!isObject(item)) return Either.left(`${at}: an input item must be an object`)
  if (item.type === "function_call") {
    if (typeof item.call_id !== "string" || typeof item.name !== "string") return Either.left(`${at}: a function_call needs call_id and name`)
    return Either.right({
      role: "assistant",
      content: null,
      tool_calls: [{ id: item.call_id, type: "function", function: { name: item.name, arguments: String(item.arguments ?? "") } }]
    })
  }
  if (item.type === "function_call_output") {
    if (typeof item.call_id !== "string") return Either.left(`${at}: a function_call_output needs call_id`)
    return Either.right({ role: "tool", tool_call_id: item.call_id, content: typeof item.output === "string" ? item.output : JSON.stringify(item.output) })
  }
  if (item.type !== undefined && item.type !== "message") return Either.left(`${at}: input items of type ${JSON.stringify(item.type)} are not supported`)
  const role = item.role
  if (role !== "user" && role !== "system" && role !== "developer" && role !== "assistant") {
    return Either.left(`${at}.role: must be user, system, developer or assistant`)
  }
  const text = textOf(item.content)
  if (text === undefined) return Either.left(`${at}.content: must be a string or text parts`)
  return Either.right({ role, content: text })
}

/**
 * The Chat body a Responses body asks for, or what is wrong with it (naming the field).
 *
 * @since 0.3.0
 * @category translation
 */
export const toChatBody = (body: unknown): Either.Either<Json, string> => {
  if (!isObject(body)) return Either.left("the body must be a JSON object")
  if (typeof body.model !== "string" || body.model === "") return Either.left("model: required")
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) {
    return Either.left("previous_response_id: stored conversations are not supported; send the whole input")
  }
  const messages: Array<Json> = []
  if (typeof body.instructions === "string" && body.instructions !== "") messages.push({ role: "system", content: body.instructions })
  if (typeof body.input === "string") messages.push({ role: "user", content: body.input })
  else if (Array.isArray(body.input)) {
    for (const [i, item] of body.input.entries()) {
      const message = messageOf(item, `input[${i}]`)
      if (Either.isLeft(message)) return message
      messages.push(message.right)
    }
  } else return Either.left("input: required (a string or an array of items)")
  const tools: Array<Json> = []
  if (Array.isArray(body.tools)) {
    for (const [i, tool] of body.tools.entries()) {
      if (!isObject(tool) || tool.type !== "function" || typeof tool.name !== "string") {
        return Either.left(`tools[${i}]: only function tools are supported`)
      }
      tools.push({ type: "function", function: { name: tool.name, description: tool.description, parameters: tool.parameters } })
    }
  }
  const choice = body.tool_choice
  const toolChoice = typeof choice === "string"
    ? choice
    : isObject(choice) && choice.type === "function" && typeof choice.name === "string"
    ? { type: "function", function: { name: choice.name } }
    : undefined
  return Either.right({
    model: body.model,
    messages,
    ...(toolChoice !== undefined ? { tool_choice: toolChoice } : {}),
    ...(typeof body.max_output_tokens === "number" ? { max_completion_tokens: body.max_output_tokens } : {}),
    ...(tools.length > 0 ? { tools } : {}),
    ...(body.stream === true ? { stream: true, stream_options: { include_usage: true } } : {}),
    ...(typeof body.prompt_cache_key === "string" ? { prompt_cache_key: body.prompt_cache_key } : {}),
    ...(typeof body.temperature === "number" ? { temperature: body.temperature } : {})
  })
}

/** Chat's usage as the Responses API reports it (`input_tokens` includes the cached ones, as there) */
const usageOf = (u: ChatUsage | null | undefined) =>
  u === undefined || u === null ? null : {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.total_tokens
  }

const responseId = (chatId: string) => `resp_${chatId.replace(/^chatcmpl-/, "")}`

const messageItem = (id: string, text: string, status: "in_progress" | "completed") => ({
  type: "message",
  id,
  status,
  role: "assistant",
  content: status === "completed" ? [{ type: "output_text", text, annotations: [], logprobs: [] }] : []
})

const functionItem = (call: { readonly id: string; readonly name: string; readonly arguments: string }, status: "in_progress" | "completed") => ({
  type: "function_call",
  id: `fc_${call.id}`,
  call_id: call.id,
  name: call.name,
  arguments: status === "completed" ? call.arguments : "",
  status
})

/** the Responses object around `output` */
const envelope = (options: {
  readonly id: string
  readonly created: number
  readonly model: string
  readonly status: "in_progress" | "completed" | "incomplete"
  readonly output: ReadonlyArray<unknown>
  readonly usage: ReturnType<typeof usageOf>
  readonly incomplete?: string | undefined
}) => ({
  id: options.id,
  object: "response",
  created_at: options.created,
  status: options.status,
  error: null,
  incomplete_details: options.incomplete === undefined ? null : { reason: options.incomplete },
  instructions: null,
  max_output_tokens: null,
  model: options.model,
  output: options.output,
  parallel_tool_calls: true,
  previous_response_id: null,
  reasoning: null,
  store: false,
  temperature: 1,
  text: { format: { type: "text" } },
  tool_choice: "auto",
  tools: [],
  top_p: 1,
  truncation: "disabled",
  usage: options.usage,
  metadata: {}
})

/**
 * A completion as the Responses object.
 *
 * @since 0.3.0
 * @category translation
 */
export const fromCompletion = (c: ChatCompletion) => {
  const choice = c.choices[0]
  const output: Array<unknown> = []
  const text = choice?.message.content ?? ""
  if (text !== "") output.push(messageItem(`msg_${c.id}`, text, "completed"))
  for (const call of choice?.message.tool_calls ?? []) {
    output.push(functionItem({ id: call.id, name: call.function.name, arguments: call.function.arguments }, "completed"))
  }
  return envelope({
    id: responseId(c.id),
    created: c.created,
    model: c.model,
    status: choice?.finish_reason === "length" ? "incomplete" : "completed",
    incomplete: choice?.finish_reason === "length" ? "max_output_tokens" : undefined,
    output,
    usage: usageOf(c.usage)
  })
}

/**
 * Turns a completion's chunks into the Responses API's events, in order: `push` each chunk as it
 * comes (its events: the first chunk opens the response — the client sees it begin then), `end` after
 * the last one (the items closed, `response.completed` with the usage).
 *
 * @since 0.3.0
 * @category translation
 */
export const makeEventWriter = () => {
  let sequence = 0
  let id = ""
  let created = 0
  let model = ""
  let text: string | undefined
  let finish: string | null = null
  let usage: ChatUsage | null | undefined
  const calls: Array<{ id: string; name: string; arguments: string }> = []
  const event = (type: string, fields: Json): Json => ({ type, sequence_number: sequence++, ...fields })
  /** the message is the first output item, the function calls after it */
  const MESSAGE = 0
  const callIndex = (i: number) => (text === undefined ? 0 : 1) + i
  const push = (chunk: ChatChunk): ReadonlyArray<Json> => {
    const out: Array<Json> = []
    if (id === "") {
      id = responseId(chunk.id)
      created = chunk.created
      model = chunk.model
      const response = envelope({ id, created, model, status: "in_progress", output: [], usage: null })
      out.push(event("response.created", { response }), event("response.in_progress", { response }))
    }
    if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage
    const choice = chunk.choices[0]
    if (choice === undefined) return out
    if (choice.finish_reason !== null) finish = choice.finish_reason
    const delta = choice.delta
    if (typeof delta.content === "string" && delta.content !== "") {
      const itemId = `msg_${id}`
      if (text === undefined) {
        text = ""
        out.push(
          event("response.output_item.added", { output_index: MESSAGE, item: messageItem(itemId, "", "in_progress") }),
          event("response.content_part.added", {
            item_id: itemId,
            output_index: MESSAGE,
            content_index: 0,
            part: { type: "output_text", text: "", annotations: [], logprobs: [] }
          })
        )
      }
      text += delta.content
      out.push(event("response.output_text.delta", { item_id: itemId, output_index: MESSAGE, content_index: 0, delta: delta.content, logprobs: [] }))
    }
    for (const call of delta.tool_calls ?? []) {
      let known = calls[call.index]
      if (known === undefined) {
        known = { id: call.id ?? `call_${call.index}`, name: call.function?.name ?? "", arguments: "" }
        calls[call.index] = known
        out.push(event("response.output_item.added", { output_index: callIndex(call.index), item: functionItem(known, "in_progress") }))
      }
      const args = call.function?.arguments ?? ""
      if (args !== "") {
        known.arguments += args
        out.push(event("response.function_call_arguments.delta", { item_id: `fc_${known.id}`, output_index: callIndex(call.index), delta: args }))
      }
    }
    return out
  }
  const end = (): ReadonlyArray<Json> => {
    const out: Array<Json> = []
    const output: Array<unknown> = []
    if (text !== undefined) {
      const itemId = `msg_${id}`
      const part = { type: "output_text", text, annotations: [], logprobs: [] }
      out.push(
        event("response.output_text.done", { item_id: itemId, output_index: MESSAGE, content_index: 0, text, logprobs: [] }),
        event("response.content_part.done", { item_id: itemId, output_index: MESSAGE, content_index: 0, part }),
        event("response.output_item.done", { output_index: MESSAGE, item: messageItem(itemId, text, "completed") })
      )
      output.push(messageItem(itemId, text, "completed"))
    }
    calls.forEach((call, i) => {
      out.push(
        event("response.function_call_arguments.done", { item_id: `fc_${call.id}`, output_index: callIndex(i), arguments: call.arguments }),
        event("response.output_item.done", { output_index: callIndex(i), item: functionItem(call, "completed") })
      )
      output.push(functionItem(call, "completed"))
    })
    const incomplete = finish === "length"
    const response = envelope({
      id,
      created,
      model,
      status: incomplete ? "incomplete" : "completed",
      incomplete: incomplete ? "max_output_tokens" : undefined,
      output,
      usage: usageOf(usage)
    })
    out.push(event(incomplete ? "response.incomplete" : "response.completed", { response }))
    return out
  }
  return { push, end }
}
