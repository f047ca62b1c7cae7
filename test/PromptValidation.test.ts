import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { MessagesRequest } from "../src/Prompt.js"
import { decodeRequest } from "../src/Prompt.js"
import { validatePrompt, violations } from "../src/PromptValidation.js"
import * as Pricing from "../src/Pricing.js"
import { MODEL } from "./fixtures.js"

const base = (messages: MessagesRequest["messages"], extra: Partial<MessagesRequest> = {}): MessagesRequest => ({
  model: MODEL,
  max_tokens: 100,
  messages,
  ...extra
})

const toolTurn = (id: string, resultId = id): MessagesRequest["messages"] => [
  { role: "user", content: "read the file" },
  { role: "assistant", content: [{ type: "tool_use", id, name: "read", input: { path: "a.ts" } }] },
  { role: "user", content: [{ type: "tool_result", tool_use_id: resultId, content: "contents" }] }
]

const cases: ReadonlyArray<{
  name: string
  request: MessagesRequest
  rule: string
  path: string
  text: string
  id?: string
}> = [
  { name: "no messages", request: base([]), rule: "empty_messages", path: "messages", text: "at least one message" },
  {
    name: "first message is the assistant's",
    request: base([{ role: "assistant", content: "hi" }, { role: "user", content: "x" }]),
    rule: "first_message_role",
    path: "messages.0.role",
    text: "first message must use the \"user\" role"
  },
  {
    name: "empty text block",
    request: base([{ role: "user", content: [{ type: "text", text: "ok" }, { type: "text", text: "" }] }]),
    rule: "empty_text",
    path: "messages.0.content.1.text",
    text: "text content blocks must be non-empty"
  },
  {
    name: "empty string content",
    request: base([{ role: "user", content: "" }]),
    rule: "empty_text",
    path: "messages.0.content",
    text: "must have non-empty content"
  },
  {
    name: "empty system block",
    request: base([{ role: "user", content: "x" }], { system: [{ type: "text", text: "" }] }),
    rule: "empty_text",
    path: "system.0.text",
    text: "non-empty"
  },
  {
    name: "tool_use without tool_result",
    request: base([...toolTurn("toolu_01").slice(0, 2), { role: "user", content: "go on" }]),
    rule: "tool_use_without_result",
    path: "messages.2",
    text: "messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01",
    id: "toolu_01"
  },
  {
    name: "orphan tool_result",
    request: base([...toolTurn("toolu_01").slice(0, 2), {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "toolu_01", content: "a" }, {
        type: "tool_result",
        tool_use_id: "toolu_99",
        content: "b"
      }]
    }]),
    rule: "orphan_tool_result",
    path: "messages.2.content.1",
    text: "messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_99",
    id: "toolu_99"
  },
  {
    name: "5 breakpoints",
    request: base([{ role: "user", content: "x" }], {
      system: [1, 2, 3, 4, 5].map((i) => ({ type: "text" as const, text: `s${i}`, cache_control: { type: "ephemeral" as const } }))
    }),
    rule: "too_many_breakpoints",
    path: "cache_control",
    text: "A maximum of 4 blocks with cache_control may be provided. Found 5."
  },
  {
    name: "4 explicit + automatic = 5",
    request: base([{ role: "user", content: [{ type: "text", text: "x" }] }], {
      cache_control: { type: "ephemeral" },
      system: [1, 2, 3, 4].map((i) => ({ type: "text" as const, text: `s${i}`, cache_control: { type: "ephemeral" as const } }))
    }),
    rule: "too_many_breakpoints",
    path: "cache_control",
    text: "Found 5."
  },
  {
    name: "1h after 5m",
    request: base([{
      role: "user",
      content: [{ type: "text", text: "x", cache_control: { type: "ephemeral", ttl: "1h" } }]
    }], { system: [{ type: "text", text: "s", cache_control: { type: "ephemeral" } }] }),
    rule: "ttl_order",
    path: "messages.0.content.0.cache_control",
    text: "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block"
  },
  {
    name: "max_tokens 0 with stream",
    request: base([{ role: "user", content: "x" }], { max_tokens: 0, stream: true }),
    rule: "max_tokens_zero",
    path: "max_tokens",
    text: "max_tokens: 0 is not supported with stream: true"
  },
  {
    name: "max_tokens 0 with thinking",
    request: base([{ role: "user", content: "x" }], { max_tokens: 0, thinking: { type: "enabled", budget_tokens: 1024 } }),
    rule: "max_tokens_zero",
    path: "max_tokens",
    text: "extended thinking"
  },
  {
    name: "max_tokens 0 with a forced tool",
    request: base([{ role: "user", content: "x" }], { max_tokens: 0, tool_choice: { type: "any" } }),
    rule: "max_tokens_zero",
    path: "max_tokens",
    text: "forced tool_choice"
  },
  {
    name: "cache_control on a thinking block",
    request: base([
      { role: "user", content: "x" },
      { role: "assistant", content: [{ type: "thinking", thinking: "t", signature: "s", cache_control: { type: "ephemeral" } }] }
    ]),
    rule: "breakpoint_on_invalid_block",
    path: "messages.1.content.0.cache_control",
    text: "cannot be set on thinking blocks"
  },
  {
    name: "two tool_use blocks with one id, in one assistant message",
    request: base([
      { role: "user", content: "x" },
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "toolu_1", name: "read", input: {} }, { type: "tool_use", id: "toolu_1", name: "read", input: {} }]
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "a" }] }
    ]),
    rule: "duplicate_tool_use_id",
    path: "messages.1.content.1.id",
    text: "toolu_1 is also the id of messages.1.content.0",
    id: "toolu_1"
  },
  {
    name: "a tool_use id used again in a later turn",
    request: base([...toolTurn("toolu_7"), { role: "assistant", content: [{ type: "tool_use", id: "toolu_7", name: "read", input: {} }] }, {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "toolu_7", content: "again" }]
    }]),
    rule: "duplicate_tool_use_id",
    path: "messages.3.content.0.id",
    text: "`tool_use` ids must be unique",
    id: "toolu_7"
  },
  {
    name: "a request field of the wrong type",
    request: base([{ role: "user", content: "x" }], { temperature: "hot" } as unknown as Partial<MessagesRequest>),
    rule: "invalid_shape",
    path: "temperature",
    text: "temperature: must be a number from 0 to 1"
  },
  {
    name: "a request field the Messages API does not take",
    request: base([{ role: "user", content: "x" }], { max_output: 5 } as unknown as Partial<MessagesRequest>),
    rule: "unknown_field",
    path: "max_output",
    text: "Extra inputs are not permitted"
  }
]

describe("model limits (from the price table)", () => {
  const sonnet = Pricing.limitsOf(Pricing.defaultTable, "claude-sonnet-4-5-20250929")

  it("max_tokens over the model's output limit", () => {
    const found = violations(base([{ role: "user", content: "x" }], { model: "claude-sonnet-4-5", max_tokens: 2 ** 31 }), sonnet)
    expect(found.map((v) => [v.rule, v.path])).toEqual([["max_tokens_over_limit", "max_tokens"], ["context_window_exceeded", "messages"]])
    expect(found[0]!.message).toContain("2147483648 > 64000")
    expect(violations(base([{ role: "user", content: "x" }], { max_tokens: 64_000 }), sonnet)).toEqual([])
  })

  it("a prompt over the context window (a 1.5M-token system prompt), with the estimate in the message", () => {
    const huge = base([{ role: "user", content: "x" }], { system: "word ".repeat(1_200_000) })
    const found = violations(huge, Pricing.limitsOf(Pricing.defaultTable, "claude-sonnet-4-6"))
    expect(found.map((v) => v.rule)).toEqual(["context_window_exceeded"])
    expect(found[0]!.message).toMatch(/about 150000\d tokens \(estimated\) \+ max_tokens 100 > 1000000/)
    // a model missing from the table: nothing to check against, the API will say
    expect(violations(huge, Pricing.limitsOf(Pricing.defaultTable, "claude-unknown"))).toEqual([])
  })
})

describe("validatePrompt", () => {
  for (const c of cases) {
    it.effect(c.name, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(validatePrompt(c.request))
        expect(error._tag).toBe("InvalidPrompt")
        expect(error.rule).toBe(c.rule)
        expect(error.path).toBe(c.path)
        expect(error.message).toContain(c.text)
        if (c.id !== undefined) expect(error.id).toBe(c.id)
      }))
  }

  it("accepts a valid tool conversation with 4 breakpoints, 1h before 5m", () => {
    const request = base(toolTurn("toolu_01"), {
      tools: [{ name: "read", input_schema: { type: "object" }, cache_control: { type: "ephemeral", ttl: "1h" } }],
      system: [
        { type: "text", text: "a", cache_control: { type: "ephemeral", ttl: "1h" } },
        { type: "text", text: "b", cache_control: { type: "ephemeral" } }
      ],
      cache_control: { type: "ephemeral" }
    })
    expect(violations(request)).toEqual([])
  })

  it("unknown block types pass through decoding untouched; a broken known block does not", () => {
    const raw = {
      model: MODEL,
      max_tokens: 10,
      messages: [{
        role: "user",
        content: [{ type: "search_result", source: "x", title: "t", content: [{ type: "text", text: "r" }] }]
      }],
      future_field: { a: 1 }
    }
    const decoded = Effect.runSync(Effect.either(decodeRequest(raw)))
    expect(Either.isRight(decoded) && decoded.right).toEqual(raw)
    const broken = { ...raw, messages: [{ role: "user", content: [{ type: "text" }] }] }
    expect(Either.isLeft(Effect.runSync(Effect.either(decodeRequest(broken))))).toBe(true)
  })
})
