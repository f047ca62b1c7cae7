/**
 * The simulator's server-side context editing (`clear_tool_uses_20250919`) against what the API's
 * documentation says of it: activation past the trigger, the most recent `keep` tool uses kept, the
 * oldest results cleared in order, `clear_at_least` or nothing, `exclude_tools`, `clear_tool_inputs`,
 * what the response reports, and the cache rewritten from the first cleared result.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { LanguageModel } from "../../src/LanguageModel.js"
import type { Message, MessagesRequest } from "../../src/Prompt.js"
import * as ContextEditing from "../../src/simulator/ContextEditing.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import { estimateRequest } from "../../src/TokenCounter.js"
import { MODEL, textOfTokens } from "../fixtures.js"

/** `n` tool calls (read, or `name` for the i-th when given), each result ~`tokens` */
const agent = (n: number, tokens: number, names: (i: number) => string = () => "read"): Array<Message> => {
  const messages: Array<Message> = [{ role: "user", content: "Do the task." }]
  for (let i = 0; i < n; i++) {
    messages.push({ role: "assistant", content: [{ type: "tool_use", id: `toolu_${i}`, name: names(i), input: { path: `f${i}.ts` } }] })
    messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: `toolu_${i}`, content: textOfTokens(tokens, `r${i}`) }] })
  }
  return messages
}

const edit = (fields: Record<string, unknown> = {}) => ({ context_management: { edits: [{ type: "clear_tool_uses_20250919", ...fields }] } })
const request = (messages: Array<Message>, extra: Record<string, unknown> = {}): MessagesRequest => ({
  model: MODEL,
  max_tokens: 10,
  system: [{ type: "text", text: textOfTokens(2000), cache_control: { type: "ephemeral" } }],
  messages,
  cache_control: { type: "ephemeral" },
  ...extra
})
const resultsOf = (r: MessagesRequest) =>
  r.messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content)).filter((b) => b.type === "tool_result").map((b) => (b as { content: unknown }).content)

describe("clear_tool_uses_20250919, as documented", () => {
  it("below the trigger nothing is cleared; past it every result but the 3 most recent is, oldest first", () => {
    const messages = agent(8, 1000)
    const below = ContextEditing.apply(request(messages), ContextEditing.parse(edit().context_management) as never)
    expect(below.applied).toEqual([])
    const edits = ContextEditing.parse(edit({ trigger: { type: "input_tokens", value: 5000 } }).context_management) as ReadonlyArray<ContextEditing.ClearToolUses>
    const past = ContextEditing.apply(request(messages), edits)
    const results = resultsOf(past.request)
    expect(results.slice(0, 5)).toEqual(Array(5).fill(ContextEditing.CLEARED))
    expect(results.slice(5)).toEqual(resultsOf(request(messages)).slice(5))
    expect(past.applied).toEqual([{
      type: "clear_tool_uses_20250919",
      cleared_tool_uses: 5,
      cleared_input_tokens: estimateRequest(request(messages)) - estimateRequest(past.request)
    }])
    // the tool_use blocks and ids stay: pairing holds
    expect(past.request.messages.length).toBe(messages.length)
  })

  it("keep, a tool-use trigger, exclude_tools, clear_tool_inputs", () => {
    const messages = agent(6, 500, (i) => (i === 0 ? "memory" : "read"))
    const edits = ContextEditing.parse(edit({
      trigger: { type: "tool_uses", value: 4 },
      keep: { type: "tool_uses", value: 1 },
      exclude_tools: ["memory"],
      clear_tool_inputs: true
    }).context_management) as ReadonlyArray<ContextEditing.ClearToolUses>
    const { applied, request: edited } = ContextEditing.apply(request(messages), edits)
    const results = resultsOf(edited)
    expect(results[0]).not.toBe(ContextEditing.CLEARED) // excluded
    expect(results.slice(1, 5)).toEqual(Array(4).fill(ContextEditing.CLEARED))
    expect(results[5]).not.toBe(ContextEditing.CLEARED) // kept
    const inputs = edited.messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content)).filter((b) => b.type === "tool_use").map((b) => (b as { input: unknown }).input)
    expect(inputs).toEqual([{ path: "f0.ts" }, {}, {}, {}, {}, { path: "f5.ts" }])
    expect(applied[0]!.cleared_tool_uses).toBe(4)
  })

  it("clear_at_least: the edit happens only if it clears that many tokens", () => {
    const messages = agent(5, 300)
    const parse = (atLeast: number) =>
      ContextEditing.parse(edit({ trigger: { type: "input_tokens", value: 1000 }, clear_at_least: { type: "input_tokens", value: atLeast } }).context_management) as ReadonlyArray<ContextEditing.ClearToolUses>
    expect(ContextEditing.apply(request(messages), parse(100_000)).applied).toEqual([])
    expect(ContextEditing.apply(request(messages), parse(500)).applied[0]!.cleared_tool_uses).toBe(2)
  })

  it("an edit the simulator does not know, or a malformed one, is a 400 naming the field", () => {
    const unknown = ContextEditing.parse({ edits: [{ type: "clear_everything" }] })
    expect(unknown).toMatchObject({ _tag: "InvalidPrompt", path: "context_management.edits.0.type" })
    const bad = ContextEditing.parse({ edits: [{ type: "clear_tool_uses_20250919", keep: { type: "tool_uses", value: -1 } }] })
    expect(bad).toMatchObject({ _tag: "InvalidPrompt", path: "context_management.edits.0.keep" })
  })
})

describe("the simulator applies it server-side", () => {
  it.effect("the response reports what was cleared; the cache is read up to the first cleared result and written after it", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const messages = agent(8, 1000)
      const settings = edit({ trigger: { type: "input_tokens", value: 8000 } })
      // the history before the trigger, cached whole
      const early = yield* lm.create(request(messages.slice(0, 9), settings))
      expect(early.contextEdits).toEqual([])
      // past the trigger: the oldest results are cleared before the cache is looked up
      const later = yield* lm.create(request(messages, settings))
      expect(later.contextEdits).toEqual([{ type: "clear_tool_uses_20250919", clearedToolUses: 5, clearedInputTokens: expect.any(Number) }])
      // read: the system prompt and the first user message, up to the first cleared result's message
      const system = estimateRequest({ ...request([]), messages: [] })
      expect(later.usage.cacheRead).toBeGreaterThanOrEqual(system)
      expect(later.usage.cacheRead).toBeLessThan(early.usage.cacheCreation5m)
      expect(later.usage.cacheCreation5m).toBeGreaterThan(0)
      // the same request again reads what the edited one wrote
      const again = yield* lm.create(request(messages, settings))
      expect(again.usage.cacheCreation5m).toBe(0)
      expect(again.usage.cacheRead).toBe(later.usage.cacheRead + later.usage.cacheCreation5m)
      const refused = yield* Effect.exit(lm.create(request(messages, { context_management: { edits: [{ type: "nope" }] } })))
      expect(Exit.isFailure(refused)).toBe(true)
    }).pipe(Effect.provide(SimulatedProvider.layer({ latency: SimulatedProvider.zeroLatency }))))
})
