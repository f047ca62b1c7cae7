import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { breakpoints, fingerprint, positions } from "../src/Prefix.js"
import type { Message, MessagesRequest } from "../src/Prompt.js"
import { MODEL } from "./fixtures.js"

const request: MessagesRequest = {
  model: MODEL,
  max_tokens: 10,
  tools: [{ name: "read", description: "reads", input_schema: { type: "object", properties: { path: { type: "string" } } } }],
  system: [{ type: "text", text: "You are helpful." }],
  messages: [
    { role: "user", content: [{ type: "text", text: "hello" }] },
    { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "read", input: { path: "a", mode: "r" } }] },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "data" }] }
  ]
}

/** the same request with every object's keys in reverse order */
const reverseKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(reverseKeys)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.keys(value).reverse().map((k) => [k, reverseKeys((value as Record<string, unknown>)[k])]))
  }
  return value
}

describe("Prefix", () => {
  it("orders positions tools → system → messages with cumulative tokens", () => {
    const all = positions(request)
    expect(all.map((p) => p.section)).toEqual(["tools", "system", "messages", "messages", "messages"])
    for (let i = 1; i < all.length; i++) {
      expect(all[i]!.cumulativeTokens).toBe(all[i - 1]!.cumulativeTokens + all[i]!.tokens)
    }
  })

  it("the fingerprint ignores key order and cache_control", () => {
    const marked: MessagesRequest = {
      ...request,
      system: [{ type: "text", text: "You are helpful.", cache_control: { type: "ephemeral", ttl: "1h" } }],
      cache_control: { type: "ephemeral" }
    }
    expect(fingerprint(reverseKeys(request) as MessagesRequest)).toBe(fingerprint(request))
    expect(fingerprint(marked)).toBe(fingerprint(request))
    expect(positions(marked).map((p) => p.fingerprint)).toEqual(positions(request).map((p) => p.fingerprint))
  })

  it("a change at position p changes every fingerprint from p on and none before", () => {
    const changed: MessagesRequest = {
      ...request,
      messages: [request.messages[0]!, request.messages[1]!, {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "other" }]
      }]
    }
    const a = positions(request).map((p) => p.fingerprint)
    const b = positions(changed).map((p) => p.fingerprint)
    expect(b.slice(0, 4)).toEqual(a.slice(0, 4))
    expect(b[4]).not.toBe(a[4])
  })

  it("the model, tool_choice and thinking are part of the key", () => {
    const fp = fingerprint(request)
    expect(fingerprint({ ...request, model: "claude-opus-4-5" })).not.toBe(fp)
    expect(fingerprint({ ...request, tool_choice: { type: "auto" } })).not.toBe(fp)
    // tool_choice invalidates the messages part only
    const withChoice = positions({ ...request, tool_choice: { type: "auto" } })
    expect(withChoice[1]!.fingerprint).toBe(positions(request)[1]!.fingerprint)
  })

  it("a string message and its one-text-block form have one fingerprint", () => {
    const a: MessagesRequest = { model: MODEL, max_tokens: 1, messages: [{ role: "user", content: "hi" }] }
    const b: MessagesRequest = { model: MODEL, max_tokens: 1, messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] }
    expect(fingerprint(a)).toBe(fingerprint(b))
  })

  it("automatic caching adds a breakpoint on the last cacheable block", () => {
    const r: MessagesRequest = {
      ...request,
      cache_control: { type: "ephemeral", ttl: "1h" },
      messages: [...request.messages, { role: "assistant", content: [{ type: "thinking", thinking: "t", signature: "s" }] }]
    }
    const bps = breakpoints(r)
    expect(bps).toHaveLength(1)
    expect(bps[0]!.automatic).toBe(true)
    expect(bps[0]!.ttl).toBe("1h")
    expect(bps[0]!.position.blockType).toBe("tool_result")
  })

  it("property: fingerprints are stable under key reordering of random texts", () => {
    fc.assert(fc.property(fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 8 }), (texts) => {
      const r: MessagesRequest = {
        model: MODEL,
        max_tokens: 1,
        messages: [{ role: "user", content: texts.map((text) => ({ type: "text" as const, text })) }]
      }
      expect(fingerprint(reverseKeys(r) as MessagesRequest)).toBe(fingerprint(r))
    }))
  })

  it("property: positions reused from messages seen before equal positions computed afresh", () => {
    // a pool of message objects shared by many requests, at different places, after different
    // systems and settings: the per-message memo must never hand a message the positions of another place
    const pool: ReadonlyArray<Message> = [
      { role: "user", content: "start" },
      { role: "assistant", content: [{ type: "text", text: "ok" }, { type: "tool_use", id: "toolu_a", name: "read", input: { path: "x" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_a", content: "file" }] },
      { role: "user", content: [{ type: "text", text: "more" }, { type: "text", text: "and more" }] },
      { role: "assistant", content: [] },
      { role: "assistant", content: [{ type: "text", text: "done", cache_control: { type: "ephemeral" } }] }
    ]
    const request = fc.record({
      picks: fc.array(fc.integer({ min: 0, max: pool.length - 1 }), { maxLength: 8 }),
      system: fc.constantFrom(undefined, "sys A", "sys B"),
      toolChoice: fc.boolean()
    }).map(({ picks, system, toolChoice }): MessagesRequest => ({
      model: MODEL,
      max_tokens: 1,
      ...(system !== undefined ? { system } : {}),
      ...(toolChoice ? { tool_choice: { type: "auto" } } : {}),
      messages: picks.map((i) => pool[i]!)
    }))
    fc.assert(fc.property(fc.array(request, { minLength: 1, maxLength: 12 }), (requests) => {
      for (const r of requests) expect(positions(r)).toEqual(positions(structuredClone(r)))
    }))
  })

  it("a custom estimate is applied to every position, tool definitions included", () => {
    const request: MessagesRequest = {
      model: MODEL,
      max_tokens: 10,
      tools: [{ name: "read", input_schema: { type: "object" } }, { name: "write", input_schema: { type: "object" } }],
      system: "s",
      messages: [{ role: "user", content: "hi" }]
    }
    const seen: Array<string> = []
    const all = positions(request, { estimate: (block) => (seen.push(block.type), 1000) })
    expect(all.map((p) => [p.section, p.tokens])).toEqual([["tools", 1000], ["tools", 1000], ["system", 1000], ["messages", 1003]])
    expect(seen).toEqual(["tool", "tool", "text", "text"])
  })
})
