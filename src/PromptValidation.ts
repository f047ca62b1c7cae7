/**
 * The Messages API's structural rules, checked locally before anything is sent. Each violation is an
 * {@link InvalidPrompt} naming the message/block index and the offending id, in the API's own words.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { breakpoints, positions, totalTokens } from "./Prefix.js"
import type { MessagesRequest } from "./Prompt.js"
import { cacheControlOf, contentBlocks, forcedToolChoice, systemBlocks, thinkingEnabled } from "./Prompt.js"
import { InvalidPrompt } from "./ProviderError.js"

/**
 * The API's limit on `cache_control` breakpoints per request.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_BREAKPOINTS = 4

/**
 * What a model accepts, from its price row (`Pricing.ModelPrice`); a limit left out is not checked.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelLimits {
  readonly maxOutputTokens?: number | undefined
  readonly contextWindow?: number | undefined
  /** request fields the model's API takes beyond the Messages API's (OpenAI's `prompt_cache_key`, …) */
  readonly extraFields?: ReadonlyArray<string> | undefined
}

type FieldCheck = (value: unknown) => string | undefined

const isObject = (u: unknown): boolean => typeof u === "object" && u !== null && !Array.isArray(u)
const numberIn = (min: number, max: number): FieldCheck => (u) =>
  typeof u === "number" && Number.isFinite(u) && u >= min && u <= max ? undefined : `a number from ${min} to ${max}`
const check = (ok: (u: unknown) => boolean, expected: string): FieldCheck => (u) => (ok(u) ? undefined : expected)
const anything: FieldCheck = () => undefined

/**
 * The top-level fields the Messages API accepts (read 2026-11-26 from the API reference and the
 * SDK's `MessageCreateParams`), each with the type it takes; any other field is refused by the API
 * ("Extra inputs are not permitted") and so refused here before sending.
 */
const FIELDS: Readonly<Record<string, FieldCheck>> = {
  model: check((u) => typeof u === "string" && u.length > 0, "a non-empty string"),
  max_tokens: check((u) => Number.isSafeInteger(u) && (u as number) >= 0, "a non-negative integer"),
  messages: check(Array.isArray, "an array"),
  system: check((u) => typeof u === "string" || Array.isArray(u), "a string or an array of text blocks"),
  tools: check(Array.isArray, "an array"),
  tool_choice: check(isObject, "an object"),
  thinking: check(isObject, "an object"),
  cache_control: check(isObject, "an object"),
  stream: check((u) => typeof u === "boolean", "a boolean"),
  temperature: numberIn(0, 1),
  top_p: numberIn(0, 1),
  top_k: check((u) => Number.isSafeInteger(u) && (u as number) >= 0, "a non-negative integer"),
  stop_sequences: check((u) => Array.isArray(u) && u.every((s) => typeof s === "string"), "an array of strings"),
  metadata: check(isObject, "an object"),
  service_tier: check((u) => typeof u === "string", "a string"),
  container: anything,
  mcp_servers: check(Array.isArray, "an array"),
  context_management: check(isObject, "an object"),
  output_format: check(isObject, "an object"),
  output_config: check(isObject, "an object"),
  diagnostics: check(isObject, "an object"),
  inference_geo: check((u) => typeof u === "string", "a string")
}

/** fields the API does not take, and fields of the wrong type */
const fieldViolations = (request: MessagesRequest, extra: ReadonlyArray<string>): ReadonlyArray<InvalidPrompt> => {
  const out: Array<InvalidPrompt> = []
  for (const [field, value] of Object.entries(request)) {
    if (value === undefined || extra.includes(field)) continue
    const expect = FIELDS[field]
    if (expect === undefined) {
      out.push(new InvalidPrompt({ rule: "unknown_field", path: field, detail: `${field}: Extra inputs are not permitted` }))
      continue
    }
    const expected = expect(value)
    if (expected !== undefined) {
      out.push(new InvalidPrompt({ rule: "invalid_shape", path: field, detail: `${field}: must be ${expected}` }))
    }
  }
  return out
}

/** `max_tokens` over the model's output limit; prompt + `max_tokens` over its context window */
const limitViolations = (
  request: MessagesRequest,
  all: ReturnType<typeof positions>,
  limits: ModelLimits
): ReadonlyArray<InvalidPrompt> => {
  const out: Array<InvalidPrompt> = []
  if (limits.maxOutputTokens !== undefined && request.max_tokens > limits.maxOutputTokens) {
    out.push(
      new InvalidPrompt({
        rule: "max_tokens_over_limit",
        path: "max_tokens",
        detail: `max_tokens: ${request.max_tokens} > ${limits.maxOutputTokens}, which is the maximum allowed number of output tokens for ${request.model}`
      })
    )
  }
  if (limits.contextWindow !== undefined) {
    const prompt = totalTokens(all)
    if (prompt + request.max_tokens > limits.contextWindow) {
      out.push(
        new InvalidPrompt({
          rule: "context_window_exceeded",
          path: "messages",
          detail: `prompt is too long: about ${prompt} tokens (estimated) + max_tokens ${request.max_tokens} > ${limits.contextWindow}, the context window of ${request.model}`
        })
      )
    }
  }
  return out
}

/**
 * Every violation, in the order the API would find them (an empty array means valid).
 *
 * @since 0.1.0
 * @category validation
 */
export const violations = (request: MessagesRequest, limits: ModelLimits = {}): ReadonlyArray<InvalidPrompt> => {
  const out: Array<InvalidPrompt> = [...fieldViolations(request, limits.extraFields ?? [])]
  if (out.length > 0) return out
  const messages = request.messages

  if (request.max_tokens === 0) {
    if (request.stream === true) {
      out.push(
        new InvalidPrompt({
          rule: "max_tokens_zero",
          path: "max_tokens",
          detail: "max_tokens: 0 is not supported with stream: true"
        })
      )
    }
    if (thinkingEnabled(request)) {
      out.push(
        new InvalidPrompt({
          rule: "max_tokens_zero",
          path: "max_tokens",
          detail: "max_tokens: 0 is not supported with extended thinking enabled"
        })
      )
    }
    if (forcedToolChoice(request)) {
      out.push(
        new InvalidPrompt({
          rule: "max_tokens_zero",
          path: "max_tokens",
          detail: "max_tokens: 0 is not supported with a forced tool_choice"
        })
      )
    }
  }

  if (messages.length === 0) {
    out.push(new InvalidPrompt({ rule: "empty_messages", path: "messages", detail: "at least one message is required" }))
  } else if (messages[0]!.role !== "user") {
    out.push(
      new InvalidPrompt({
        rule: "first_message_role",
        path: "messages.0.role",
        messageIndex: 0,
        detail: "first message must use the \"user\" role"
      })
    )
  }

  systemBlocks(request.system).forEach((block, i) => {
    if (block.text.length === 0) {
      out.push(
        new InvalidPrompt({
          rule: "empty_text",
          path: `system.${i}.text`,
          blockIndex: i,
          detail: "text content blocks must be non-empty"
        })
      )
    }
  })

  const toolUseIds = new Map<string, string>()
  messages.forEach((message, m) => {
    if (message.content.length === 0 && !(m === messages.length - 1 && message.role === "assistant")) {
      out.push(
        new InvalidPrompt({
          rule: "empty_text",
          path: `messages.${m}.content`,
          messageIndex: m,
          detail: `messages.${m}: all messages must have non-empty content except for the optional final assistant message`
        })
      )
    }
    if (typeof message.content === "string") return
    message.content.forEach((block, b) => {
      const path = `messages.${m}.content.${b}`
      if (block.type === "text" && (block as { text: string }).text.length === 0) {
        out.push(
          new InvalidPrompt({
            rule: "empty_text",
            path: `${path}.text`,
            messageIndex: m,
            blockIndex: b,
            detail: `${path}: text content blocks must be non-empty`
          })
        )
      }
      if (
        (block.type === "thinking" || block.type === "redacted_thinking") && cacheControlOf(block) !== undefined
      ) {
        out.push(
          new InvalidPrompt({
            rule: "breakpoint_on_invalid_block",
            path: `${path}.cache_control`,
            messageIndex: m,
            blockIndex: b,
            detail: `${path}.cache_control: cache_control cannot be set on ${block.type} blocks`
          })
        )
      }
      if (block.type === "tool_result") {
        const id = (block as { tool_use_id: string }).tool_use_id
        const previous = m > 0 ? messages[m - 1]! : undefined
        const found = message.role === "user" && previous !== undefined && previous.role === "assistant" &&
          contentBlocks(previous).some((p) => p.type === "tool_use" && (p as { id: string }).id === id)
        if (!found) {
          out.push(
            new InvalidPrompt({
              rule: "orphan_tool_result",
              path,
              messageIndex: m,
              blockIndex: b,
              id,
              detail:
                `${path}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`
            })
          )
        }
      }
    })
    if (message.role === "assistant") {
      message.content.forEach((block, b) => {
        if (block.type !== "tool_use") return
        const id = (block as { id: string }).id
        const first = toolUseIds.get(id)
        if (first === undefined) {
          toolUseIds.set(id, `messages.${m}.content.${b}`)
          return
        }
        out.push(
          new InvalidPrompt({
            rule: "duplicate_tool_use_id",
            path: `messages.${m}.content.${b}.id`,
            messageIndex: m,
            blockIndex: b,
            id,
            detail: `messages.${m}.content.${b}.id: \`tool_use\` ids must be unique; ${id} is also the id of ${first}`
          })
        )
      })
      const ids = message.content.filter((b) => b.type === "tool_use").map((b) => (b as { id: string }).id)
      if (ids.length > 0) {
        const next = messages[m + 1]
        const answered = new Set(
          next === undefined || next.role !== "user"
            ? []
            : contentBlocks(next).filter((b) => b.type === "tool_result").map((b) =>
              (b as { tool_use_id: string }).tool_use_id
            )
        )
        const missing = ids.filter((id) => !answered.has(id))
        if (missing.length > 0) {
          out.push(
            new InvalidPrompt({
              rule: "tool_use_without_result",
              path: `messages.${m + 1}`,
              messageIndex: m + 1,
              id: missing[0]!,
              detail: `messages.${m + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${
                missing.join(", ")
              }. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`
            })
          )
        }
      }
    }
  })

  const all = positions(request)
  for (const p of all) {
    if (p.cacheControl !== undefined && p.blockType === "text" && !p.cacheable) {
      const path = p.section === "messages" ? `messages.${p.itemIndex}.content.${p.blockIndex}` : `${p.section}.${p.itemIndex}`
      out.push(
        new InvalidPrompt({
          rule: "breakpoint_on_invalid_block",
          path: `${path}.cache_control`,
          detail: `${path}.cache_control: cache_control cannot be set for empty text blocks`
        })
      )
    }
  }
  const bps = breakpoints(request, all)
  if (bps.length > MAX_BREAKPOINTS) {
    out.push(
      new InvalidPrompt({
        rule: "too_many_breakpoints",
        path: "cache_control",
        detail: `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${bps.length}.`
      })
    )
  }
  let seen5m: number | undefined
  for (const bp of bps) {
    if (bp.ttl === "5m" && seen5m === undefined) seen5m = bp.position.index
    if (bp.ttl === "1h" && seen5m !== undefined) {
      const p = bp.position
      const path = p.section === "messages" ? `messages.${p.itemIndex}.content.${p.blockIndex}` : `${p.section}.${p.itemIndex}`
      out.push(
        new InvalidPrompt({
          rule: "ttl_order",
          path: `${path}.cache_control`,
          ...(p.section === "messages" ? { messageIndex: p.itemIndex, blockIndex: p.blockIndex } : {}),
          detail:
            `${path}.cache_control: a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block (order: tools, system, messages)`
        })
      )
      break
    }
  }
  out.push(...limitViolations(request, all, limits))
  return out
}

/**
 * Succeeds with the request when it is valid; fails with its first violation.
 *
 * @since 0.1.0
 * @category validation
 */
export const validatePrompt = (
  request: MessagesRequest,
  limits: ModelLimits = {}
): Effect.Effect<MessagesRequest, InvalidPrompt> =>
  Effect.suspend(() => {
    const found = violations(request, limits)
    return found.length === 0 ? Effect.succeed(request) : Effect.fail(found[0]!)
  })
