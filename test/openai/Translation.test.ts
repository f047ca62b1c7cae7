/**
 * The pure parts of the OpenAI wing: translations both ways, usage, `prompt_cache_key` sharding, and
 * the simulator's OpenAI cache rules.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import type { ChatRequest } from "../../src/openai/ChatWire.js"
import * as PromptCacheKeys from "../../src/openai/PromptCacheKeys.js"
import { fromChatRequest, toChatRequest, usageFromChat, usageToChat } from "../../src/openai/Translation.js"
import { positions } from "../../src/Prefix.js"
import type { MessagesRequest } from "../../src/Prompt.js"
import { CacheStore, commit } from "../../src/simulator/CacheStore.js"
import * as OpenAICache from "../../src/simulator/OpenAICache.js"
import { textOfTokens } from "../fixtures.js"
import { toolConversation } from "./fixtures.js"

const roundTrip = (request: MessagesRequest, caching: "openai-automatic" | "openai-breakpoints" = "openai-breakpoints") =>
  Either.getOrThrow(fromChatRequest(Either.getOrThrow(toChatRequest(request, caching)) as unknown as ChatRequest))

const conversation = (marked: boolean): MessagesRequest =>
  toolConversation({ model: "gpt-5.6-terra", system: "You review code.", results: ["A", "B"], marked })

describe("translation", () => {
  it("parallel tool calls, tool results and images survive Messages → Chat → Messages", () => {
    const chat = Either.getOrThrow(toChatRequest(conversation(false), "openai-breakpoints"))
    const messages = chat.messages as ReadonlyArray<{ role: string; tool_calls?: ReadonlyArray<unknown> }>
    expect(messages.map((m) => m.role)).toEqual(["developer", "user", "assistant", "tool", "tool", "user"])
    expect(messages[2]!.tool_calls).toHaveLength(2)
    // the same messages, but that a tool result of one text block reads back as its string
    const sent = conversation(false).messages
    const results = sent[2]!.content as ReadonlyArray<Record<string, unknown>>
    const expected = [sent[0], sent[1], { role: "user", content: [results[0], { ...results[1], content: "B" }, results[2], results[3]] }]
    expect(roundTrip(conversation(false)).messages).toEqual(expected)
  })

  it("a breakpoint changes no fingerprint: marked and unmarked prompts chain the same after the trip", () => {
    const fp = (r: MessagesRequest) => positions(roundTrip(r)).map((p) => p.fingerprint)
    expect(fp(conversation(true))).toEqual(fp(conversation(false)))
    // and the mark arrives where it was put
    const marked = roundTrip(conversation(true)).messages[2]!.content as ReadonlyArray<{ cache_control?: unknown }>
    expect(marked[1]!.cache_control).toEqual({ type: "ephemeral" })
  })

  it("breakpoints are explicit parts on GPT-5.6 and dropped before it; max_tokens 0 is one token", () => {
    const request: MessagesRequest = {
      model: "gpt-5.6-terra",
      max_tokens: 0,
      system: [{ type: "text", text: "S", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: "Q" }]
    }
    const on = JSON.stringify(Either.getOrThrow(toChatRequest(request, "openai-breakpoints")))
    const off = JSON.stringify(Either.getOrThrow(toChatRequest(request, "openai-automatic")))
    expect(on).toContain(`"prompt_cache_breakpoint":{"mode":"explicit"}`)
    expect(off).not.toContain("prompt_cache_breakpoint")
    expect(JSON.parse(on).max_completion_tokens).toBe(1)
  })

  it("usage: prompt_tokens = plain + cached + written, both ways", () => {
    const usage = usageFromChat({ prompt_tokens: 1000, completion_tokens: 7, total_tokens: 1007, prompt_tokens_details: { cached_tokens: 600, cache_write_tokens: 300 } })
    expect(usage).toEqual({ input: 100, cacheCreation5m: 300, cacheCreation1h: 0, cacheRead: 600, output: 7 })
    expect(usageFromChat(usageToChat(usage, "openai-breakpoints"))).toEqual(usage)
    expect(usageToChat(usage, "openai-automatic").prompt_tokens_details).toEqual({ cached_tokens: 600 })
  })
})

describe("prompt_cache_key sharding", () => {
  const fp = "ab".repeat(32)
  const uses = (sent: ReadonlyArray<{ key: string; at: number }>) => {
    const byKey = new Map<string, Array<number>>()
    for (const { at, key } of sent) byKey.set(key, [...(byKey.get(key) ?? []), at])
    return byKey
  }

  it("one key below the limit; shards above it, none over the limit in any minute; free again after a quiet minute", () => {
    const keys = PromptCacheKeys.make({ perKeyPerMinute: 15, headroom: 0.8 })
    const sent = Array.from({ length: 180 }, (_, i) => ({ at: i * 1000, key: keys.keyFor([fp], i * 1000) }))
    const byKey = uses(sent)
    for (const times of byKey.values()) {
      for (const t of times) expect(times.filter((u) => u > t - 60_000 && u <= t).length).toBeLessThanOrEqual(15)
    }
    expect(byKey.size).toBeGreaterThanOrEqual(4)
    expect(byKey.size).toBeLessThanOrEqual(6)
    expect(sent[0]!.key).toBe(`epc-${fp.slice(0, 24)}`)
    expect(keys.keyFor([fp], 400_000)).toBe(`epc-${fp.slice(0, 24)}`)
    expect(keys.shardsOf(fp, 400_000)).toBe(1)
  })

  it("a new shard is written by one request: the next ones wait in the warm shards' headroom", () => {
    const keys = PromptCacheKeys.make({ perKeyPerMinute: 15, headroom: 0.8, warmupMs: 10_000 })
    // a burst: 12 fill shard 0 to the target, the 13th opens shard 1, the next 3 use shard 0's
    // headroom up to the limit; only then does shard 1 take more
    const sent = Array.from({ length: 20 }, (_, i) => ({ at: i * 100, key: keys.keyFor([fp], i * 100) }))
    const byKey = uses(sent)
    expect(byKey.get(PromptCacheKeys.keyOf(fp, 0))!.length).toBe(15)
    expect(byKey.get(PromptCacheKeys.keyOf(fp, 1))).toEqual([1200, 1600, 1700, 1800, 1900])
  })

  it("a conversation goes back to the shard that holds it, while that shard is under the limit", () => {
    const keys = PromptCacheKeys.make({ perKeyPerMinute: 15, headroom: 0.8 })
    for (let i = 0; i < 12; i++) keys.keyFor([fp, `other-${i}`], i) // shard 0 at its target
    const opened = keys.keyFor([fp, "conversation-1"], 20) // shard 1
    expect(opened).toBe(PromptCacheKeys.keyOf(fp, 1))
    // a minute on, shard 0 is empty and first in fill order; the conversation's next turn extends its
    // prefix, and follows it to shard 1, which holds it
    expect(keys.keyFor([fp, "someone-else"], 60_010)).toBe(PromptCacheKeys.keyOf(fp, 0))
    expect(keys.keyFor([fp, "conversation-1", "turn-2"], 60_011)).toBe(PromptCacheKeys.keyOf(fp, 1))
  })
})

describe("the simulator's OpenAI cache", () => {
  const request = (model: string, question: string, extra: Partial<MessagesRequest> = {}): MessagesRequest => ({
    model,
    max_tokens: 10,
    system: [{ type: "text", text: textOfTokens(3000), cache_control: { type: "ephemeral" } }],
    messages: [{ role: "user", content: question }],
    ...extra
  })
  const run = (store: CacheStore, r: MessagesRequest, caching: "openai-automatic" | "openai-breakpoints", now: number, machine = "m") => {
    const p = OpenAICache.plan(store, positions(r), r, now, caching, 1024, machine, {})
    commit(store, p, now, now)
    return p.usage
  }

  it("before GPT-5.6: the shared prefix is read in 128-token steps, nothing is reported written", () => {
    const store = new CacheStore(1000)
    run(store, request("gpt-4.1", "one"), "openai-automatic", 0)
    const second = run(store, request("gpt-4.1", "two"), "openai-automatic", 1)
    expect(second.cacheCreation5m).toBe(0)
    expect((second.cacheRead - 1024) % 128).toBe(0)
    expect(second.cacheRead).toBeGreaterThan(3000 - 128)
  })

  it("GPT-5.6: reads only where a breakpoint was written; explicit mode writes no implicit one", () => {
    const store = new CacheStore(1000)
    const unmarked = (q: string) => request("gpt-5.6-terra", q, { system: textOfTokens(3000) })
    run(store, unmarked("one"), "openai-breakpoints", 0)
    // the implicit breakpoint sat at the end of "one": "two" shares the system but no breakpoint ends it
    expect(run(store, unmarked("two"), "openai-breakpoints", 1).cacheRead).toBe(0)
    const marked = run(store, request("gpt-5.6-terra", "three"), "openai-breakpoints", 2)
    expect(marked.cacheRead).toBe(0)
    expect(run(store, request("gpt-5.6-terra", "four"), "openai-breakpoints", 3).cacheRead).toBeGreaterThanOrEqual(3000)
    const explicitOnly = run(new CacheStore(10), unmarked("five") as MessagesRequest & object, "openai-breakpoints", 4)
    expect(explicitOnly.cacheCreation5m).toBeGreaterThan(0)
    const none = OpenAICache.plan(new CacheStore(10), positions(unmarked("x")), { ...unmarked("x"), prompt_cache_options: { mode: "explicit" } } as MessagesRequest, 0, "openai-breakpoints", 1024, "m", {})
    expect(none.usage.cacheCreation5m).toBe(0)
  })

  it("routing: a bucket's machine serves 15 requests a minute; the rest overflow", () => {
    const router = new OpenAICache.Router(15)
    const served = Array.from({ length: 60 }, (_, i) => router.route("b", i * 1000)).filter(Boolean).length
    expect(served).toBe(15)
    expect(router.route("b", 61_000)).toBe(true)
  })
})
