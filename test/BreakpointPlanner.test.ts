import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as fc from "fast-check"
import * as BreakpointPlanner from "../src/BreakpointPlanner.js"
import { LanguageModel } from "../src/LanguageModel.js"
import { breakpoints, positions } from "../src/Prefix.js"
import type { ContentBlock, Message, MessagesRequest } from "../src/Prompt.js"
import { violations } from "../src/PromptValidation.js"
import * as SimulatedProvider from "../src/simulator/SimulatedProvider.js"
import { MODEL, textOfTokens } from "./fixtures.js"

const base = (messages: ReadonlyArray<Message>, extra: Partial<MessagesRequest> = {}): MessagesRequest => ({
  model: MODEL,
  max_tokens: 50,
  tools: [{ name: "read", input_schema: { type: "object" } }],
  system: [{ type: "text", text: textOfTokens(2000) }],
  messages,
  ...extra
})

/** a conversation of `turns` user/assistant exchanges, each assistant turn with a tool call */
const conversation = (turns: number, thinking = false): Array<Message> => {
  const out: Array<Message> = [{ role: "user", content: "start" }]
  for (let t = 0; t < turns; t++) {
    const assistant: Array<ContentBlock> = []
    if (thinking) assistant.push({ type: "thinking", thinking: `think ${t}`, signature: `sig${t}` })
    assistant.push({ type: "tool_use", id: `toolu_${t}`, name: "read", input: { path: `f${t}` } })
    out.push({ role: "assistant", content: assistant })
    out.push({ role: "user", content: [{ type: "tool_result", tool_use_id: `toolu_${t}`, content: textOfTokens(50, `r${t}`) }] })
  }
  return out
}

describe("BreakpointPlanner", () => {
  it("places the turn, system and previous-turn breakpoints on the right blocks", () => {
    const request = base(conversation(3))
    const all = positions(request)
    const p = BreakpointPlanner.plan({ request, sharedPositions: all.length, previousSharedPositions: all.length - 2, systemTtl: "1h" })
    expect(p.breakpoints.map((b) => [b.role, b.ttl])).toEqual([["system", "1h"], ["previous-turn", "5m"], ["turn", "5m"]])
    expect(p.shared?.index).toBe(all.length - 1)
    expect(p.sharedTokens).toBe(all[all.length - 1]!.cumulativeTokens)
    expect(violations(p.request)).toEqual([])
    expect(breakpoints(p.request).map((b) => b.position.index)).toEqual(p.breakpoints.map((b) => b.index))
  })

  it("never marks the per-request suffix", () => {
    const request = base([{ role: "user", content: [{ type: "text", text: "shared" }, { type: "text", text: "mine" }] }])
    const all = positions(request)
    const p = BreakpointPlanner.plan({ request, sharedPositions: all.length - 1 })
    expect(p.shared?.index).toBe(all.length - 2)
    const last = (p.request.messages[0]!.content as ReadonlyArray<ContentBlock>)[1]!
    expect("cache_control" in last).toBe(false)
  })

  it("never marks thinking blocks or empty text; steps back to a cacheable block", () => {
    const request = base([...conversation(1), {
      role: "assistant",
      content: [{ type: "thinking", thinking: "hmm", signature: "s" }]
    }])
    const all = positions(request)
    const p = BreakpointPlanner.plan({ request, sharedPositions: all.length })
    expect(p.shared!.index).toBe(all.length - 2)
    expect(violations(p.request)).toEqual([])
  })

  it("respects the caller's breakpoints and never exceeds 4", () => {
    const request = base(conversation(2), {
      system: [1, 2, 3].map((i) => ({ type: "text" as const, text: textOfTokens(500, `s${i}`), cache_control: { type: "ephemeral" as const } }))
    })
    const all = positions(request)
    const p = BreakpointPlanner.plan({ request, sharedPositions: all.length, previousSharedPositions: 5, systemTtl: "1h" })
    expect(p.breakpoints).toHaveLength(4)
    expect(p.breakpoints.filter((b) => b.role === "caller")).toHaveLength(3)
    expect(p.breakpoints.at(-1)!.role).toBe("turn")
    // the caller's 5m breakpoints come first: ours cannot be 1h after them
    expect(p.breakpoints.every((b) => b.ttl === "5m")).toBe(true)
    expect(violations(p.request)).toEqual([])
  })

  it("skips breakpoints below the model's minimum", () => {
    const request: MessagesRequest = { model: MODEL, max_tokens: 1, system: "short", messages: [{ role: "user", content: "hi" }] }
    const p = BreakpointPlanner.plan({ request, sharedPositions: 1, minTokens: 1024 })
    expect(p.breakpoints).toEqual([])
    expect(p.request).toBe(request)
  })

  it("property: any conversation, any split → at most 4 breakpoints, none on thinking, a valid request", () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 12 }),
      fc.boolean(),
      fc.nat(),
      fc.nat(),
      fc.constantFrom<"5m" | "1h">("5m", "1h"),
      (turns, thinking, a, b, ttl) => {
        const request = base(conversation(turns, thinking))
        const n = positions(request).length
        const shared = 1 + (a % n)
        const previous = b % shared
        const p = BreakpointPlanner.plan({ request, sharedPositions: shared, previousSharedPositions: previous, systemTtl: ttl })
        expect(p.breakpoints.length).toBeLessThanOrEqual(4)
        const all = positions(p.request)
        for (const bp of breakpoints(p.request, all)) {
          expect(bp.position.blockType).not.toBe("thinking")
          expect(bp.position.index).toBeLessThan(shared)
        }
        expect(violations(p.request)).toEqual([])
      }
    ))
  })

  it.effect("a turn that adds 25 blocks still reads the previous turn's prefix", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const run = <A, E>(effect: Effect.Effect<A, E>) =>
        Effect.gen(function*() {
          const f = yield* Effect.fork(effect)
          yield* TestClock.adjust("1 minute")
          return yield* Fiber.join(f)
        })
      const turn1 = base(conversation(2))
      const n1 = positions(turn1).length
      const first = yield* run(lm.create(BreakpointPlanner.plan({ request: turn1, sharedPositions: n1 }).request))
      expect(first.usage.cacheCreation5m).toBeGreaterThan(2000)
      // 12 more exchanges: 24 new blocks plus one user block = 25 positions past the previous breakpoint
      const turn2 = base([...conversation(14)])
      const n2 = positions(turn2).length
      expect(n2 - n1).toBeGreaterThan(20)
      const withoutPrevious = BreakpointPlanner.plan({ request: turn2, sharedPositions: n2 })
      const withPrevious = BreakpointPlanner.plan({ request: turn2, sharedPositions: n2, previousSharedPositions: n1 })
      const expectedPrevious = positions(turn1)[n1 - 1]!.cumulativeTokens
      // with the previous-turn breakpoint, the whole previous turn is read
      const b = yield* run(lm.create(withPrevious.request))
      expect(b.usage.cacheRead).toBe(expectedPrevious)
      // without it, the 20-position lookback from the turn's breakpoint cannot reach it: only the
      // system prefix is read
      yield* Effect.flatMap(SimulatedProvider.Simulator, (sim) => sim.flushCache)
      yield* run(lm.create(BreakpointPlanner.plan({ request: turn1, sharedPositions: n1 }).request))
      const a = yield* run(lm.create(withoutPrevious.request))
      expect(a.usage.cacheRead).toBeGreaterThan(0)
      expect(a.usage.cacheRead).toBeLessThan(expectedPrevious)
    }).pipe(Effect.provide(SimulatedProvider.layer())))
})
