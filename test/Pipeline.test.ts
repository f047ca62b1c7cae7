import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as CacheMetrics from "../src/CacheMetrics.js"
import * as CacheWarmer from "../src/CacheWarmer.js"
import * as ContextPruner from "../src/ContextPruner.js"
import * as SimulatedPipeline from "../src/simulator/SimulatedPipeline.js"
import * as Pipeline from "../src/Pipeline.js"
import { breakpoints } from "../src/Prefix.js"
import type { MessagesRequest } from "../src/Prompt.js"
import { violations } from "../src/PromptValidation.js"
import * as SimulatedProvider from "../src/simulator/SimulatedProvider.js"
import { MODEL, runClocked, textOfTokens } from "./fixtures.js"

const conversation = (messages: MessagesRequest["messages"]): MessagesRequest => ({
  model: MODEL,
  max_tokens: 100,
  system: [{ type: "text", text: textOfTokens(4000) }],
  messages
})

const drive = runClocked

describe("Pipeline", () => {
  it("withPrompt merges into a last user message, else appends one", () => {
    const endsWithUser = conversation([{ role: "user", content: "hello" }])
    const merged = Pipeline.withPrompt(endsWithUser, { prompt: "q", maxTokens: 7 })
    expect(merged.messages).toEqual([{ role: "user", content: [{ type: "text", text: "hello" }, { type: "text", text: "q" }] }])
    expect(merged.max_tokens).toBe(7)
    const endsWithAssistant = conversation([{ role: "user", content: "hello" }, { role: "assistant", content: "hi" }])
    expect(Pipeline.withPrompt(endsWithAssistant, { prompt: "q" }).messages.at(-1)).toEqual({
      role: "user",
      content: [{ type: "text", text: "q" }]
    })
  })

  it.effect("a turn: breakpoints on the shared prefix only, one write, the others read", () =>
    Effect.gen(function*() {
      const pipeline = yield* Pipeline.Pipeline
      const turn = yield* drive(pipeline.turn({
        sessionId: "s",
        conversation: conversation([{ role: "user", content: "the shared question" }]),
        prompts: [{ prompt: "a" }, { prompt: "b" }, { prompt: "c" }]
      }))
      expect(turn.responses.every(Either.isRight)).toBe(true)
      for (const r of turn.requests) {
        expect(violations(r)).toEqual([])
        const bps = breakpoints(r)
        // the last breakpoint is the shared user text, never the per-request prompt
        expect(bps.at(-1)!.position.blockType).toBe("text")
        const last = r.messages.at(-1)!.content as ReadonlyArray<{ text?: string; cache_control?: unknown }>
        expect(last.at(-1)!.cache_control).toBeUndefined()
        expect(last.at(-2)!.cache_control).toBeDefined()
      }
      const calls = yield* Effect.flatMap(SimulatedProvider.Simulator, (s) => s.calls)
      expect(calls.filter((c) => (c.usage?.cacheCreation5m ?? 0) > 0)).toHaveLength(1)
      expect(calls.filter((c) => (c.usage?.cacheRead ?? 0) > 0)).toHaveLength(2)
      // what the gate did, and what the two waiters' reads saved: each read's 5-minute write not paid, minus the read
      const snapshot = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
      expect(snapshot.gates).toEqual({ led: 1, waited: 2 })
      const read = calls.reduce((n, c) => n + (c.usage?.cacheRead ?? 0), 0)
      // Sonnet 4.5: $3 per million input tokens; a 5-minute write is 1.25×, a read 0.1×
      expect(snapshot.gateSavingsUsd).toBeCloseTo((read * 3 * (1.25 - 0.1)) / 1e6, 9)
    }).pipe(Effect.provide(SimulatedPipeline.layer({ pruner: false }))))

  it.effect("a turn's cost is its calls' (as CacheMetrics prices them); a session's is the sum of its turns'", () =>
    Effect.gen(function*() {
      const pipeline = yield* Pipeline.Pipeline
      const metrics = yield* CacheMetrics.CacheMetrics
      expect(yield* pipeline.sessionCost("costed")).toEqual(Option.none())
      const first = yield* drive(pipeline.turn({
        sessionId: "costed",
        conversation: conversation([{ role: "user", content: "first" }]),
        prompts: [{ prompt: "a" }, { prompt: "b" }]
      }))
      const afterFirst = yield* metrics.snapshot
      expect(first.cost.usd).toBeCloseTo(afterFirst.totalCostUsd!, 9)
      expect(first.cost.noCacheUsd).toBeCloseTo(afterFirst.noCacheCostUsd!, 9)
      const second = yield* drive(pipeline.turn({
        sessionId: "costed",
        conversation: conversation([{ role: "user", content: "first" }, { role: "assistant", content: "ok" }, { role: "user", content: "second" }]),
        prompts: [{ prompt: "c" }]
      }))
      // the second turn reads what the first wrote: it costs less than the first
      expect(second.cost.usd!).toBeLessThan(first.cost.usd!)
      const session = Option.getOrThrow(yield* pipeline.sessionCost("costed"))
      expect(session.turns).toBe(2)
      expect(session.usd).toBeCloseTo(first.cost.usd! + second.cost.usd!, 9)
      expect(session.usd).toBeCloseTo((yield* metrics.snapshot).totalCostUsd!, 9)
      expect(session.noCacheUsd).toBeCloseTo(first.cost.noCacheUsd! + second.cost.noCacheUsd!, 9)
      // the session ends: one observation of the session-cost histogram, at its cost
      const before = yield* Metric.value(CacheMetrics.sessionCostUsd)
      const warmer = yield* CacheWarmer.CacheWarmer
      // the miss diagnosis keeps the conversation's last prompt until it ends
      expect((yield* warmer.state).conversations).toBe(1)
      yield* pipeline.forget("costed")
      expect((yield* warmer.state).conversations).toBe(0)
      expect(yield* pipeline.sessionCost("costed")).toEqual(Option.none())
      const after = yield* Metric.value(CacheMetrics.sessionCostUsd)
      expect(after.count - before.count).toBe(1)
      expect(after.sum - before.sum).toBeCloseTo(session.usd!, 9)
    }).pipe(Effect.provide(SimulatedPipeline.layer({ pruner: false }))))

  it.effect("the next turn reads the previous turn's prefix and writes only what is new", () =>
    Effect.gen(function*() {
      const pipeline = yield* Pipeline.Pipeline
      const first = conversation([{ role: "user", content: "first" }])
      yield* drive(pipeline.turn({ sessionId: "s", conversation: first, prompts: [{ prompt: "a" }, { prompt: "b" }] }))
      const second = conversation([
        { role: "user", content: "first" },
        { role: "assistant", content: textOfTokens(500, "answer") },
        { role: "user", content: "second" }
      ])
      const turn = yield* drive(pipeline.turn({ sessionId: "s", conversation: second, prompts: [{ prompt: "a" }, { prompt: "b" }] }))
      const usages = turn.responses.map((r) => Either.getOrThrow(r).usage)
      const written = usages.reduce((n, u) => n + u.cacheCreation5m, 0)
      expect(written).toBeGreaterThan(500)
      expect(written).toBeLessThan(600)
      expect(Math.min(...usages.map((u) => u.cacheRead))).toBeGreaterThan(4000)
      const snap = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
      expect(snap.calls.request.count).toBe(4)
    }).pipe(Effect.provide(SimulatedPipeline.layer({ pruner: false }))))

  it.effect("pruning happens before the fan-out, and is counted in the metrics", () =>
    Effect.gen(function*() {
      const pipeline = yield* Pipeline.Pipeline
      const messages: Array<MessagesRequest["messages"][number]> = [{ role: "user", content: "go" }]
      for (let i = 0; i < 6; i++) {
        messages.push({ role: "assistant", content: [{ type: "tool_use", id: `toolu_${i}`, name: "read", input: { path: "a.ts" } }] })
        messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: `toolu_${i}`, content: textOfTokens(3000, `v${i}`) }] })
      }
      const turn = yield* drive(pipeline.turn({ sessionId: "p", conversation: conversation(messages), prompts: [{ prompt: "a" }, { prompt: "b" }] }))
      expect(turn.pruning).toMatchObject({ _tag: "Applied", reason: "cold" })
      expect(turn.newlyPruned.deduplication).toBeGreaterThan(5000)
      const snap = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
      expect(snap.prunedTokens.deduplication).toBe(turn.newlyPruned.deduplication)
      for (const r of turn.requests) expect(violations(r)).toEqual([])
    }).pipe(Effect.provide(SimulatedPipeline.layer({ pruner: { clearAtLeast: 1000 } }))))

  it.effect("the pruner is told the turn's own requests and the share of the prefix the cache missed anyway", () =>
    Effect.gen(function*() {
      const seen: Array<ContextPruner.PruneInput> = []
      const spy = ContextPruner.ContextPruner.of({
        prune: (input) => {
          seen.push(input)
          return Effect.succeed({ request: input.request, decision: { _tag: "Skipped", reason: "nothing_new" }, newlyPruned: {}, pruned: {} })
        },
        forget: () => Effect.void
      })
      const pipeline = yield* Pipeline.make().pipe(Effect.provideService(ContextPruner.ContextPruner, spy))
      const simulator = yield* SimulatedProvider.Simulator
      const messages: Array<MessagesRequest["messages"][number]> = [{ role: "user", content: "first" }]
      const turn = () =>
        drive(pipeline.turn({
          sessionId: "m",
          conversation: conversation(messages.slice()),
          prompts: [{ prompt: "a" }, { prompt: "b" }, { prompt: "c" }],
          expectedRemainingRequests: 5
        }))
      const next = (i: number) => {
        messages.push({ role: "assistant", content: textOfTokens(500, `answer ${i}`) }, { role: "user", content: `question ${i}` })
      }
      yield* turn()
      next(1)
      yield* turn()
      next(2)
      // every call of the turn after the flush misses the prefix the registry still calls warm
      yield* simulator.flushCache
      yield* turn()
      next(3)
      yield* turn()
      // 5 after the turn, and its own two after the first
      expect(seen.map((i) => i.expectedRemainingRequests)).toEqual([7, 7, 7, 7])
      expect(seen.slice(0, 3).map((i) => i.missRate)).toEqual([0, 0, 0])
      const missRate = seen[3]!.missRate!
      // from the log: turn 2's three calls could each read turn 1's prefix (its leader read exactly
      // that); turn 3's could each read turn 2's (what its followers read) and its leader read nothing
      const reads = (yield* simulator.calls).map((c) => c.usage?.cacheRead ?? 0)
      const [second, third] = [reads.slice(3, 6), reads.slice(6, 9)]
      expect(third[0]).toBe(0)
      const [c2, c3] = [Math.min(...second), second[1]!]
      expect(missRate).toBeCloseTo(c3 / (3 * c2 + 3 * c3), 9)
    }).pipe(Effect.provide(SimulatedPipeline.layer({ pruner: false }))))

  it.effect("sessions are independent and run concurrently over a shared system prompt", () =>
    Effect.gen(function*() {
      const pipeline = yield* Pipeline.Pipeline
      const results = yield* drive(Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => pipeline.turn({ sessionId: `u${i}`, conversation: conversation([{ role: "user", content: `user ${i} asks` }]), prompts: [{ prompt: "answer" }] }),
        { concurrency: "unbounded" }
      ))
      expect(results.every((t) => t.responses.every(Either.isRight))).toBe(true)
      const calls = yield* Effect.flatMap(SimulatedProvider.Simulator, (s) => s.calls)
      // one session writes the system prompt; every other reads it
      const systemWrites = calls.filter((c) => (c.usage?.cacheRead ?? 0) === 0)
      expect(systemWrites).toHaveLength(1)
    }).pipe(Effect.provide(SimulatedPipeline.layer({ pruner: false }))))
})
