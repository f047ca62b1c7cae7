import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import * as ContextPruner from "../src/ContextPruner.js"
import type { ContentBlock, Message, MessagesRequest } from "../src/Prompt.js"
import { violations } from "../src/PromptValidation.js"
import { MODEL, textOfTokens } from "./fixtures.js"

interface Call {
  readonly name: string
  readonly input: Record<string, unknown>
  readonly result: string
  readonly error?: boolean
}

/** builds a conversation: each turn = a user prompt, then one assistant step per call and its result */
const build = (turns: ReadonlyArray<ReadonlyArray<Call>>, options: { thinking?: boolean } = {}): MessagesRequest => {
  const messages: Array<Message> = []
  let id = 0
  turns.forEach((calls, t) => {
    messages.push({ role: "user", content: `turn ${t}: please continue` })
    for (const call of calls) {
      const toolId = `toolu_${(id++).toString().padStart(4, "0")}`
      const content: Array<ContentBlock> = []
      if (options.thinking) content.push({ type: "thinking", thinking: `thinking about ${toolId}`, signature: `sig-${toolId}` })
      content.push({ type: "tool_use", id: toolId, name: call.name, input: call.input })
      messages.push({ role: "assistant", content })
      messages.push({
        role: "user",
        content: [{ type: "tool_result", tool_use_id: toolId, content: call.result, ...(call.error ? { is_error: true } : {}) }]
      })
    }
  })
  return {
    model: MODEL,
    max_tokens: 100,
    tools: [{ name: "read", input_schema: { type: "object" } }, { name: "write", input_schema: { type: "object" } }],
    system: [{ type: "text", text: "You are a coding agent." }],
    messages
  }
}

const big = (salt: string) => textOfTokens(3000, salt)
const read = (path: string, salt = path): Call => ({ name: "read", input: { path }, result: big(salt) })
const filler = (n: number) => Array.from({ length: n }, (_, i) => [{ name: "bash", input: { command: `echo ${i}` }, result: "ok" }])

const run = (request: MessagesRequest, config: ContextPruner.PrunerConfig = {}, input: Partial<ContextPruner.PruneInput> = {}) =>
  Effect.gen(function*() {
    const pruner = yield* ContextPruner.make({ clearAtLeast: 0, ...config })
    return yield* pruner.prune({ conversationId: "c", request, cold: true, ...input })
  })

const resultOf = (r: MessagesRequest, id: string) => {
  for (const m of r.messages) {
    if (typeof m.content === "string") continue
    for (const b of m.content) if (b.type === "tool_result" && (b as { tool_use_id: string }).tool_use_id === id) return (b as { content: unknown }).content
  }
  return undefined
}
const inputOf = (r: MessagesRequest, id: string) => {
  for (const m of r.messages) {
    if (typeof m.content === "string") continue
    for (const b of m.content) if (b.type === "tool_use" && (b as { id: string }).id === id) return (b as { input: unknown }).input
  }
  return undefined
}

describe("ContextPruner rules", () => {
  it.effect("deduplication keeps only the latest result of identical calls", () =>
    Effect.gen(function*() {
      const r = build([[read("a.ts", "v1")], [read("a.ts", "v2")], ...filler(2)])
      const out = yield* run(r)
      expect(resultOf(out.request, "toolu_0000")).toBe(ContextPruner.PLACEHOLDERS.result)
      expect(resultOf(out.request, "toolu_0001")).toBe(big("v2"))
      expect(out.newlyPruned.deduplication).toBeGreaterThan(2900)
    }))

  it.effect("superseded writes: an older write's content goes when a later successful write exists", () =>
    Effect.gen(function*() {
      const write = (content: string, error = false): Call => ({ name: "write", input: { path: "./src/a.ts", content }, result: "written", error })
      const r = build([[write(big("old"))], [{ name: "write", input: { path: "src/a.ts", content: big("new") }, result: "written" }], ...filler(2)])
      const out = yield* run(r)
      expect(inputOf(out.request, "toolu_0000")).toEqual({ path: "./src/a.ts", content: ContextPruner.PLACEHOLDERS.supersededWrite })
      expect(inputOf(out.request, "toolu_0001")).toEqual({ path: "src/a.ts", content: big("new") })
      // a later *failed* write does not supersede
      const r2 = build([[write(big("old"))], [write(big("bad"), true)], ...filler(2)])
      const out2 = yield* run(r2, { rules: { error_purging: false } })
      expect(inputOf(out2.request, "toolu_0000")).toEqual({ path: "./src/a.ts", content: big("old") })
    }))

  it.effect("error purging: inputs of calls that failed N turns ago; the error text stays", () =>
    Effect.gen(function*() {
      const failed: Call = { name: "bash", input: { command: `make ${big("cmd")}` }, result: "make: *** Error 2", error: true }
      const r = build([[failed], ...filler(3)])
      const young = yield* run(r, { errorAfterTurns: 4 })
      expect(inputOf(young.request, "toolu_0000")).toEqual(failed.input)
      const old = yield* run(build([[failed], ...filler(4)]), { errorAfterTurns: 4 })
      expect(inputOf(old.request, "toolu_0000")).toEqual({ command: ContextPruner.PLACEHOLDERS.failedInput })
      expect(resultOf(old.request, "toolu_0000")).toBe("make: *** Error 2")
    }))

  it.effect("superseded results: older reads with the same normalized arguments", () =>
    Effect.gen(function*() {
      const r = build([
        [{ name: "bash", input: { command: "npm   test" }, result: big("t1") }],
        [{ name: "bash", input: { command: " npm test" }, result: big("t2") }],
        ...filler(2)
      ])
      const out = yield* run(r, { rules: { deduplication: false } })
      expect(resultOf(out.request, "toolu_0000")).toBe(ContextPruner.PLACEHOLDERS.result)
      expect(out.newlyPruned.superseded_results).toBeGreaterThan(2900)
    }))

  it.effect("age: results beyond the last K tool uses are cleared", () =>
    Effect.gen(function*() {
      const r = build([[read("a"), read("b"), read("c")], [read("d")], ...filler(2)])
      const out = yield* run(r, { rules: { age: true }, keepToolUses: 4 })
      // 6 calls: the 2 oldest are cleared (the last 2 turns' filler are protected anyway)
      expect(resultOf(out.request, "toolu_0000")).toBe(ContextPruner.PLACEHOLDERS.age)
      expect(resultOf(out.request, "toolu_0001")).toBe(ContextPruner.PLACEHOLDERS.age)
      expect(resultOf(out.request, "toolu_0002")).toBe(big("c"))
    }))

  it.effect("protection: the last N turns and protected tools are never pruned", () =>
    Effect.gen(function*() {
      const r = build([[read("a.ts", "1"), { name: "task", input: { q: "x" }, result: big("task") }], [{ name: "task", input: { q: "x" }, result: big("task2") }], [read("a.ts", "2")]])
      const out = yield* run(r, { protectTurns: 1 })
      expect(resultOf(out.request, "toolu_0000")).toBe(ContextPruner.PLACEHOLDERS.result)
      expect(resultOf(out.request, "toolu_0001")).toBe(big("task"))
      const all = yield* run(r, { protectTurns: 4 })
      expect(all.decision).toEqual({ _tag: "Skipped", reason: "nothing_new" })
    }))
})

describe("ContextPruner decisions", () => {
  it.effect("batched: a round below clearAtLeast is deferred, with its numbers", () =>
    Effect.gen(function*() {
      const r = build([[read("a.ts")], [read("a.ts")], ...filler(2)])
      const out = yield* run(r, { clearAtLeast: 10_000 }, { cold: false })
      expect(out.decision._tag).toBe("Deferred")
      expect(out.decision).toMatchObject({ reason: "below_clear_at_least" })
      expect(out.request).toEqual(r)
    }))

  it.effect("price model (margin 1: break-even): an edit early in a long context does not pay for few remaining requests", () =>
    Effect.gen(function*() {
      const r = build([[read("a.ts")], [read("a.ts")], ...Array.from({ length: 10 }, (_, i) => [read(`f${i}`)]), ...filler(2)])
      const few = yield* run(r, { margin: 1 }, { cold: false, expectedRemainingRequests: 2 })
      expect(few.decision).toMatchObject({ _tag: "Deferred", reason: "does_not_pay" })
      const d = few.decision as { tokensFreed: number; rewriteTokens: number }
      expect(d.tokensFreed * 0.1 * 2).toBeLessThanOrEqual(d.rewriteTokens * 1.15)
      const many = yield* run(r, { margin: 1 }, { cold: false, expectedRemainingRequests: 200 })
      expect(many.decision).toMatchObject({ _tag: "Applied", reason: "pays" })
      // cold: the cache is rewritten anyway, so prune without the test
      const cold = yield* run(r, { margin: 1 }, { cold: true, expectedRemainingRequests: 1 })
      expect(cold.decision).toMatchObject({ _tag: "Applied", reason: "cold" })
    }))

  it.effect("price model (margin 1): the rewrite is priced at the TTL it is written at (a 1h cache costs 2× to rewrite)", () =>
    Effect.gen(function*() {
      const r = build([[read("a.ts")], [read("a.ts")], ...Array.from({ length: 10 }, (_, i) => [read(`f${i}`)]), ...filler(2)])
      const probe = (yield* run(r, { margin: 1 }, { cold: false, expectedRemainingRequests: 1 })).decision as { tokensFreed: number; rewriteTokens: number }
      // enough remaining requests to pay for a 5m rewrite (×1.15 net), not for a 1h one (×1.9 net)
      const n = Math.floor((probe.rewriteTokens * 1.15) / (probe.tokensFreed * 0.1)) + 1
      expect(probe.tokensFreed * 0.1 * n).toBeLessThanOrEqual(probe.rewriteTokens * 1.9)
      const fiveMinutes = yield* run(r, { margin: 1 }, { cold: false, expectedRemainingRequests: n, rewriteTtl: "5m" })
      expect(fiveMinutes.decision).toMatchObject({ _tag: "Applied", reason: "pays" })
      const oneHour = yield* run(r, { margin: 1 }, { cold: false, expectedRemainingRequests: n, rewriteTtl: "1h" })
      expect(oneHour.decision).toMatchObject({ _tag: "Deferred", reason: "does_not_pay" })
      // and with a model whose reads cost half as much, the same round no longer pays at 5m either
      const cheapReads = yield* run(r, { margin: 1 }, {
        cold: false,
        expectedRemainingRequests: n,
        multipliers: { write5m: 1.25, write1h: 2, read: 0.05 }
      })
      expect(cheapReads.decision).toMatchObject({ _tag: "Deferred", reason: "does_not_pay" })
    }))

  it.effect("the default margin: a round that pays for its rewrite once waits until it pays for it twice", () =>
    Effect.gen(function*() {
      const r = build([[read("a.ts")], [read("a.ts")], ...Array.from({ length: 10 }, (_, i) => [read(`f${i}`)]), ...filler(2)])
      const probe = (yield* run(r, { margin: 1 }, { cold: false, expectedRemainingRequests: 1 })).decision as { tokensFreed: number; rewriteTokens: number }
      // the fewest remaining requests for which the round breaks even (5m rewrite: × 1.15 net)
      const once = Math.floor((probe.rewriteTokens * 1.15) / (probe.tokensFreed * 0.1)) + 1
      const twice = Math.floor((2 * probe.rewriteTokens * 1.15) / (probe.tokensFreed * 0.1)) + 1
      expect(twice).toBeGreaterThan(once)
      expect((yield* run(r, {}, { cold: false, expectedRemainingRequests: once })).decision).toMatchObject({ _tag: "Deferred", reason: "does_not_pay" })
      expect((yield* run(r, {}, { cold: false, expectedRemainingRequests: twice })).decision).toMatchObject({ _tag: "Applied", reason: "pays" })
      expect((yield* run(r, { margin: 1 }, { cold: false, expectedRemainingRequests: once })).decision).toMatchObject({ _tag: "Applied", reason: "pays" })
    }))

  it.effect("a prefix missed anyway (missRate) makes a round cheaper and its savings larger", () =>
    Effect.gen(function*() {
      const r = build([[read("a.ts")], [read("a.ts")], ...Array.from({ length: 10 }, (_, i) => [read(`f${i}`)]), ...filler(2)])
      const probe = (yield* run(r, { margin: 1 }, { cold: false, expectedRemainingRequests: 1 })).decision as { tokensFreed: number; rewriteTokens: number }
      // the most remaining requests for which the round does not break even with every read served
      const n = Math.floor((probe.rewriteTokens * 1.15) / (probe.tokensFreed * 0.1))
      const served = yield* run(r, { margin: 1 }, { cold: false, expectedRemainingRequests: n, missRate: 0 })
      expect(served.decision).toMatchObject({ _tag: "Deferred", reason: "does_not_pay" })
      // a fifth missed: each freed token saves 0.8 × 0.1 + 0.2 × 1.25 per request, the rewrite costs 0.8 of itself
      const missed = yield* run(r, { margin: 1 }, { cold: false, expectedRemainingRequests: n, missRate: 0.2 })
      expect(missed.decision).toMatchObject({ _tag: "Applied", reason: "pays" })
      const m = { write5m: 1.25, write1h: 2, read: 0.1 }
      const round = { tokensFreed: 1000, rewriteTokens: 10_000, expectedRequests: 10 }
      // 1000 × 10 × (0.8 × 0.1 + 0.2 × 1.25) = 3,300 against 10,000 × 1.15 × 0.8 = 9,200; at 0.5: 6,750 against 5,750
      expect(ContextPruner.pays(round, m, "5m", 1, 0.2)).toBe(false)
      expect(ContextPruner.pays(round, m, "5m", 1, 0.5)).toBe(true)
      // every read missed: the rewrite costs nothing
      expect(ContextPruner.pays({ ...round, expectedRequests: 1 }, m, "5m", 100, 1)).toBe(true)
    }))

  it.effect("monotone: once pruned, pruned with the same placeholder on every later turn", () =>
    Effect.gen(function*() {
      const pruner = yield* ContextPruner.make({ clearAtLeast: 0 })
      const t1 = build([[read("a.ts", "1")], [read("a.ts", "2")], ...filler(2)])
      const o1 = yield* pruner.prune({ conversationId: "s", request: t1, cold: true })
      expect(o1.decision._tag).toBe("Applied")
      // next turn, warm cache, new candidates do not pay: the old decision still holds
      const t2 = build([[read("a.ts", "1")], [read("a.ts", "2")], ...filler(2), [read("b.ts")]])
      const o2 = yield* pruner.prune({ conversationId: "s", request: t2, cold: false, expectedRemainingRequests: 0 })
      expect(resultOf(o2.request, "toolu_0000")).toBe(ContextPruner.PLACEHOLDERS.result)
      expect(o2.request.messages.slice(0, o1.request.messages.length)).toEqual(o1.request.messages)
      expect(o2.pruned.deduplication).toBe(o1.pruned.deduplication)
      // another conversation has its own state
      const other = yield* pruner.prune({ conversationId: "other", request: t2, cold: false, expectedRemainingRequests: 0 })
      expect(resultOf(other.request, "toolu_0000")).toBe(big("1"))
    }))

  it.effect("a grown conversation that shares message objects gets the very same pruned messages back", () =>
    Effect.gen(function*() {
      // the turn after: the same message objects plus new ones (as an app appends to its history);
      // edits applied again must give identical objects, so per-object memos (positions, digests,
      // token estimates) stay valid from turn to turn
      const pruner = yield* ContextPruner.make({ clearAtLeast: 0 })
      const t1 = build([[read("a.ts", "1")], [read("a.ts", "2")], ...filler(3)])
      const o1 = yield* pruner.prune({ conversationId: "s", request: t1, cold: true })
      expect(o1.decision._tag).toBe("Applied")
      const t2: MessagesRequest = { ...t1, messages: [...t1.messages, { role: "user", content: "go on" }] }
      const o2 = yield* pruner.prune({ conversationId: "s", request: t2, cold: false, expectedRemainingRequests: 0 })
      const edited = o1.request.messages.filter((m, i) => m !== t1.messages[i])
      expect(edited.length).toBeGreaterThan(0)
      o1.request.messages.forEach((m, i) => expect(o2.request.messages[i]).toBe(m))
    }))

  it.effect("hysteresis: engages at the trigger, releases only below the lower mark", () =>
    Effect.gen(function*() {
      const pruner = yield* ContextPruner.make({ clearAtLeast: 0, triggerTokens: 10_000, releaseTokens: 5_000 })
      const small = build([[read("a.ts")], ...filler(2)])
      expect((yield* pruner.prune({ conversationId: "h", request: small, cold: true })).decision).toEqual({ _tag: "Skipped", reason: "below_trigger" })
      const large = build([[read("a.ts")], [read("a.ts")], [read("b.ts")], [read("c.ts")], ...filler(2)])
      const engaged = yield* pruner.prune({ conversationId: "h", request: large, cold: true })
      expect(engaged.decision._tag).toBe("Applied")
    }))

  it.effect("the no-op layer never prunes", () =>
    Effect.gen(function*() {
      const pruner = yield* ContextPruner.ContextPruner
      const r = build([[read("a.ts")], [read("a.ts")], ...filler(2)])
      const out = yield* pruner.prune({ conversationId: "x", request: r, cold: true })
      expect(out.request).toBe(r)
      expect(out.decision).toEqual({ _tag: "Skipped", reason: "disabled" })
    }).pipe(Effect.provide(ContextPruner.layerNoop)))
})

// ---------------------------------------------------------------------------------------------------
// properties over random valid conversations
// ---------------------------------------------------------------------------------------------------

const callArb: fc.Arbitrary<Call> = fc.record({
  name: fc.constantFrom("read", "write", "bash", "task", "grep"),
  input: fc.oneof(
    fc.record({ path: fc.constantFrom("a.ts", "./a.ts", "b.ts", "src/c.ts") }),
    fc.record({ path: fc.constantFrom("a.ts", "b.ts"), content: fc.string({ minLength: 1, maxLength: 40 }) }),
    fc.record({ command: fc.constantFrom("npm test", "npm  test", "ls", "make") })
  ),
  result: fc.string({ minLength: 1, maxLength: 200 }),
  error: fc.boolean()
})
const conversationArb = fc.record({
  turns: fc.array(fc.array(callArb, { maxLength: 4 }), { minLength: 1, maxLength: 8 }),
  thinking: fc.boolean(),
  config: fc.record({
    protectTurns: fc.integer({ min: 0, max: 3 }),
    errorAfterTurns: fc.integer({ min: 0, max: 4 }),
    rules: fc.record({ age: fc.boolean() }),
    keepToolUses: fc.integer({ min: 0, max: 6 })
  })
})

const latestThinking = (r: MessagesRequest) => {
  const last = [...r.messages].reverse().find((m) => m.role === "assistant")
  return JSON.stringify(typeof last?.content === "string" ? [] : last?.content.filter((b) => b.type === "thinking" || b.type === "redacted_thinking"))
}

describe("ContextPruner properties", () => {
  it("valid in, valid out; system and tools untouched; latest thinking byte-identical; idempotent; deterministic", () => {
    fc.assert(fc.property(conversationArb, ({ config, thinking, turns }) => {
      const request = build(turns, { thinking })
      expect(violations(request)).toEqual([])
      const prune = (r: MessagesRequest) => Effect.runSync(run(r, { ...config, clearAtLeast: 0 }))
      const once = prune(request)
      expect(violations(once.request)).toEqual([])
      expect(once.request.system).toEqual(request.system)
      expect(once.request.tools).toEqual(request.tools)
      expect(latestThinking(once.request)).toBe(latestThinking(request))
      expect(once.request.messages.length).toBe(request.messages.length)
      // idempotent: pruning the pruned output changes nothing more
      const twice = prune(once.request)
      expect(twice.request.messages).toEqual(once.request.messages)
      // deterministic: a fresh pruner on the same input gives the same bytes
      expect(JSON.stringify(prune(request).request)).toBe(JSON.stringify(once.request))
    }), { numRuns: 200 })
  })

  it("monotone: a growing conversation keeps every earlier pruning, with the same placeholder", () => {
    fc.assert(fc.property(conversationArb, fc.array(fc.array(callArb, { maxLength: 3 }), { minLength: 1, maxLength: 4 }), ({ config, turns }, more) => {
      const program = Effect.gen(function*() {
        const pruner = yield* ContextPruner.make({ ...config, clearAtLeast: 0 })
        const first = yield* pruner.prune({ conversationId: "m", request: build(turns), cold: true })
        const second = yield* pruner.prune({ conversationId: "m", request: build([...turns, ...more]), cold: false, expectedRemainingRequests: 0 })
        return { first, second }
      })
      const { first, second } = Effect.runSync(program)
      const n = first.request.messages.length
      expect(second.request.messages.slice(0, n)).toEqual(first.request.messages.slice(0, n))
    }), { numRuns: 100 })
  })
})

// ---------------------------------------------------------------------------------------------------
// parallel tool calls: several tool_use blocks in one assistant step, their results in any order
// ---------------------------------------------------------------------------------------------------

interface Step {
  readonly calls: ReadonlyArray<Call>
  /** the order the results come back in (a permutation of the calls' indices) */
  readonly resultOrder: ReadonlyArray<number>
}

const buildParallel = (turns: ReadonlyArray<ReadonlyArray<Step>>): MessagesRequest => {
  const messages: Array<Message> = []
  let id = 0
  turns.forEach((steps, t) => {
    messages.push({ role: "user", content: `turn ${t}: please continue` })
    for (const step of steps) {
      const ids = step.calls.map(() => `toolu_${(id++).toString().padStart(4, "0")}`)
      messages.push({
        role: "assistant",
        content: step.calls.map((call, i): ContentBlock => ({ type: "tool_use", id: ids[i]!, name: call.name, input: call.input }))
      })
      messages.push({
        role: "user",
        content: step.resultOrder.map((i): ContentBlock => {
          const call = step.calls[i]!
          return { type: "tool_result", tool_use_id: ids[i]!, content: call.result, ...(call.error ? { is_error: true } : {}) }
        })
      })
    }
  })
  return { ...build([]), messages }
}

const stepArb: fc.Arbitrary<Step> = fc.array(callArb, { minLength: 1, maxLength: 4 }).chain((calls) =>
  fc.shuffledSubarray(calls.map((_, i) => i), { minLength: calls.length, maxLength: calls.length }).map((resultOrder) => ({
    calls,
    resultOrder
  }))
)

/** every tool_result as (tool_use_id → is_error), in message order */
const resultFlags = (r: MessagesRequest) =>
  r.messages.flatMap((m) =>
    typeof m.content === "string"
      ? []
      : m.content.filter((b) => b.type === "tool_result").map((b) => {
        const result = b as { tool_use_id: string; is_error?: boolean }
        return [result.tool_use_id, result.is_error === true] as const
      })
  )

describe("ContextPruner with parallel tool calls", () => {
  it("pairing stays valid and every tool_result keeps its tool_use_id, its place and its is_error", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(stepArb, { maxLength: 3 }), { minLength: 1, maxLength: 6 }),
        fc.record({ errorAfterTurns: fc.integer({ min: 0, max: 3 }), protectTurns: fc.integer({ min: 0, max: 2 }), rules: fc.record({ age: fc.boolean() }) }),
        (turns, config) => {
          const request = buildParallel(turns)
          expect(violations(request)).toEqual([])
          const out = Effect.runSync(run(request, { ...config, keepToolUses: 1, clearAtLeast: 0 }, { cold: true }))
          expect(violations(out.request)).toEqual([])
          expect(resultFlags(out.request)).toEqual(resultFlags(request))
        }
      ),
      { numRuns: 200 }
    )
  })

  it("an error result that is pruned is still marked is_error", () =>
    Effect.runSync(Effect.gen(function*() {
      const failing: Call = { name: "bash", input: { command: "make" }, result: big("compiler output"), error: true }
      const request = buildParallel([
        [{ calls: [failing, read("a.ts")], resultOrder: [1, 0] }],
        [{ calls: [read("b.ts")], resultOrder: [0] }, { calls: [read("c.ts")], resultOrder: [0] }],
        [{ calls: [read("d.ts")], resultOrder: [0] }]
      ])
      const out = yield* run(request, { rules: { age: true }, keepToolUses: 1, protectTurns: 0 }, { cold: true })
      const before = resultOf(request, "toolu_0000")
      const after = resultOf(out.request, "toolu_0000")
      expect(after).not.toEqual(before) // it was pruned
      expect(resultFlags(out.request).find(([id]) => id === "toolu_0000")).toEqual(["toolu_0000", true])
    })))
})
