/**
 * The @effect/ai wing's pure parts: a prompt as the core sees it (one block per part, in the core's
 * position order), the planner's marks set back on the prompt, a call's usage from its finish part,
 * and a streamed answer assembled as generateText's.
 */
import * as AiPrompt from "@effect/ai/Prompt"
import * as AiResponse from "@effect/ai/Response"
import * as AiTool from "@effect/ai/Tool"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { applyMarks, toRequest } from "../../src/effect-ai/Translation.js"
import { assemble, usageOf } from "../../src/effect-ai/WarmingLanguageModel.js"
import { positions } from "../../src/Prefix.js"

const Search = AiTool.make("search", { description: "search the web", parameters: { query: Schema.String }, success: Schema.String })

const prompt = AiPrompt.make([
  { role: "system", content: "be brief" },
  { role: "user", content: [{ type: "text", text: "find cats" }, { type: "text", text: "and dogs" }] },
  { role: "assistant", content: [{ type: "tool-call", id: "c1", name: "search", params: { query: "cats" }, providerExecuted: false }] },
  { role: "tool", content: [{ type: "tool-result", id: "c1", name: "search", isFailure: false, result: "many cats", providerExecuted: false }] },
  { role: "user", content: [{ type: "text", text: "thanks" }] }
])

describe("Translation", () => {
  it("one position per tool, system message and part, in the core's order", () => {
    const t = toRequest(prompt, [Search], "claude-sonnet-4-6")
    expect(t.marked).toBe(false)
    expect(positions(t.request).length).toBe(t.targets.length)
    expect(t.targets).toEqual([
      { _tag: "Tool" },
      { _tag: "System", message: 0 },
      { _tag: "Part", message: 1, part: 0 },
      { _tag: "Part", message: 1, part: 1 },
      { _tag: "Part", message: 2, part: 0 },
      { _tag: "Part", message: 3, part: 0 },
      { _tag: "Part", message: 4, part: 0 }
    ])
    expect(t.request.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "user"])
    expect(t.request.tools?.[0]?.name).toBe("search")
  })

  it("marks go back onto the system message and the parts as @effect/ai-anthropic's cacheControl; read again, they are the app's own", () => {
    const t = toRequest(prompt, [Search], "claude-sonnet-4-6")
    const marked = applyMarks(prompt, t.targets, new Map([[0, "5m"], [1, "1h"], [6, "5m"]] as const))
    expect(marked.content[0]!.options).toEqual({ anthropic: { cacheControl: { type: "ephemeral", ttl: "1h" } } })
    expect((marked.content[4]!.content as ReadonlyArray<AiPrompt.Part>)[0]!.options).toEqual({ anthropic: { cacheControl: { type: "ephemeral" } } })
    // the tool's mark is not placed (the provider layer puts none on tools); the untouched parts are the same objects
    expect(marked.content[1]).toBe(prompt.content[1])
    const again = toRequest(marked, [Search], "claude-sonnet-4-6")
    expect(again.marked).toBe(true)
    const all = positions(again.request)
    expect(all.filter((p) => p.cacheControl !== undefined).map((p) => p.index)).toEqual([1, 6])
    // the marks change no fingerprint: the prefixes are the same prefixes
    expect(all.map((p) => p.fingerprint)).toEqual(positions(t.request).map((p) => p.fingerprint))
  })

  it("a file changes the prefix when its bytes do, without its bytes in the request", () => {
    const file = (data: Uint8Array) =>
      toRequest(AiPrompt.make([{ role: "user", content: [{ type: "file", mediaType: "image/png", data }] }]), [], "claude-sonnet-4-6")
    const a = file(new Uint8Array([1, 2, 3]))
    const b = file(new Uint8Array([1, 2, 4]))
    expect(positions(a.request)[0]!.fingerprint).not.toBe(positions(b.request)[0]!.fingerprint)
    expect(JSON.stringify(a.request)).not.toContain("1,2,3")
  })
})

describe("usageOf", () => {
  const finish = (usage: Partial<AiResponse.Usage>, metadata: Record<string, unknown> = {}) =>
    AiResponse.finishPart({
      reason: "stop",
      usage: new AiResponse.Usage({ inputTokens: undefined, outputTokens: undefined, totalTokens: undefined, ...usage }),
      metadata: metadata as never
    })

  it("the provider's raw usage, writes included (@effect/ai-anthropic keeps it in the metadata)", () => {
    const parts = [finish({ inputTokens: 10, outputTokens: 7, cachedInputTokens: 4000 }, {
      anthropic: { usage: { input_tokens: 10, cache_creation_input_tokens: 500, cache_read_input_tokens: 4000, output_tokens: 7 } }
    })]
    expect(usageOf(parts, true)).toEqual({
      usage: { input: 10, cacheCreation5m: 500, cacheCreation1h: 0, cacheRead: 4000, output: 7 },
      writesKnown: true
    })
  })

  it("without it: reads from cachedInputTokens, writes unknown where the model bills them, known (none apart) where it does not", () => {
    const parts = [finish({ inputTokens: 5000, outputTokens: 7, cachedInputTokens: 4096 })]
    expect(usageOf(parts, true)).toEqual({ usage: { input: 904, cacheCreation5m: 0, cacheCreation1h: 0, cacheRead: 4096, output: 7 }, writesKnown: false })
    expect(usageOf(parts, false)?.writesKnown).toBe(true)
    expect(usageOf([], true)).toBeUndefined()
  })
})

describe("assemble", () => {
  const usage = new AiResponse.Usage({ inputTokens: 3, outputTokens: 2, totalTokens: 5 })
  it("a stream's parts as generateText's: blocks joined in their places, tool parameter deltas dropped, the rest kept", () => {
    const parts = [
      AiResponse.makePart("response-metadata", { id: Option.some("m1"), modelId: Option.some("x"), timestamp: Option.none() }),
      AiResponse.makePart("reasoning-start", { id: "r" }),
      AiResponse.makePart("reasoning-delta", { id: "r", delta: "think" }),
      AiResponse.makePart("text-start", { id: "t" }),
      AiResponse.makePart("reasoning-end", { id: "r", metadata: { anthropic: { signature: "sig" } } }),
      AiResponse.makePart("text-delta", { id: "t", delta: "Hello" }),
      AiResponse.makePart("text-delta", { id: "t", delta: ", world" }),
      AiResponse.makePart("text-end", { id: "t" }),
      AiResponse.makePart("tool-params-start", { id: "c", name: "search", providerExecuted: false }),
      AiResponse.makePart("tool-params-delta", { id: "c", delta: "{}" }),
      AiResponse.makePart("tool-params-end", { id: "c" }),
      AiResponse.makePart("tool-call", { id: "c", name: "search", params: {}, providerExecuted: false }),
      AiResponse.makePart("finish", { reason: "stop", usage })
    ] as never
    const out = Either.getOrThrow(assemble(parts)) as ReadonlyArray<AiResponse.Part<any>>
    expect(out.map((p) => p.type)).toEqual(["response-metadata", "reasoning", "text", "tool-call", "finish"])
    expect(out[1]).toMatchObject({ type: "reasoning", text: "think", metadata: { anthropic: { signature: "sig" } } })
    expect(out[2]).toMatchObject({ type: "text", text: "Hello, world" })
    expect(AiResponse.isPart(out[2])).toBe(true)
  })

  it("an error part is the answer's failure", () => {
    const parts = [AiResponse.makePart("text-start", { id: "t" }), AiResponse.makePart("error", { error: "overloaded" })] as never
    expect(assemble(parts)).toEqual(Either.left("overloaded"))
  })
})
