/**
 * The pruner's hindsight oracle: its dynamic programme finds the cheapest schedule of rounds that
 * brute force over every schedule finds, on small generated sessions; the schedule it picks runs
 * through the real pipeline (`ContextPruner` strategy `schedule`).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import * as GeneratedWorkloads from "../../src/bench/GeneratedWorkloads.js"
import * as Hindsight from "../../src/bench/Hindsight.js"
import * as PruningComparison from "../../src/bench/PruningComparison.js"
import * as ContextPruner from "../../src/ContextPruner.js"
import { Multipliers } from "../../src/Pricing.js"
import type { MessagesRequest } from "../../src/Prompt.js"

/** generated session shapes up to the given sizes */
const shapes = (max: { readonly steps: number; readonly fanOut: number; readonly files: number; readonly tokens: number }) =>
  fc.record({
    seed: fc.integer({ min: 1, max: 100_000 }),
    steps: fc.integer({ min: 3, max: max.steps }),
    fanOut: fc.integer({ min: 1, max: max.fanOut }),
    files: fc.integer({ min: 1, max: max.files }),
    failures: fc.double({ min: 0, max: 0.6, noNaN: true }),
    fileTokens: fc.integer({ min: 200, max: max.tokens }),
    outputTokens: fc.integer({ min: 100, max: max.tokens })
  })
const small = shapes({ steps: 9, fanOut: 4, files: 3, tokens: 3000 })

/** every subset of the turns at which something new could be applied */
const allSchedules = (turns: ReadonlyArray<Hindsight.Turn>): ReadonlyArray<ReadonlySet<number>> => {
  let out: Array<Set<number>> = [new Set()]
  turns.forEach((_, t) => {
    out = out.flatMap((s) => [s, new Set([...s, t])])
  })
  return out
}

describe("Hindsight", () => {
  it("the dynamic programme's schedule costs what the cheapest of all schedules costs (brute force), and is one of them", () => {
    fc.assert(
      fc.property(small, (shape) => {
        const turns = Hindsight.turnsOf(GeneratedWorkloads.generate({ name: "p", ...shape }), 0, { protectTurns: 1 })
        const found = Hindsight.cheapest(turns, Multipliers)
        const brute = Math.min(...allSchedules(turns).map((s) => Hindsight.costOf(turns, s, Multipliers)))
        expect(found.cost).toBeCloseTo(brute, 6)
        expect(Hindsight.costOf(turns, new Set(found.rounds), Multipliers)).toBeCloseTo(found.cost, 6)
        // never worse than never pruning, nor than a round at every turn with something new
        expect(found.cost).toBeLessThanOrEqual(Hindsight.costOf(turns, new Set(), Multipliers) + 1e-9)
        const eager = new Set(turns.flatMap((t, i) => (t.fresh.length > 0 ? [i] : [])))
        expect(found.cost).toBeLessThanOrEqual(Hindsight.costOf(turns, eager, Multipliers) + 1e-9)
      }),
      { numRuns: 40 }
    )
  })

  it.effect("the schedule strategy applies every pending candidate at its rounds and at no other turn", () =>
    Effect.gen(function*() {
      const workload = GeneratedWorkloads.generate({ name: "s", seed: 3, steps: 8, fanOut: 1, files: 1, failures: 0.3, fileTokens: 800, outputTokens: 500 })
      const turns = Hindsight.turnsOf(workload, 0, { protectTurns: 1 })
      const withFresh = turns.flatMap((t, i) => (t.fresh.length > 0 ? [i] : []))
      expect(withFresh.length).toBeGreaterThan(1)
      const round = withFresh[withFresh.length - 1]!
      const pruner = yield* ContextPruner.make({ strategy: "schedule", rounds: [round], protectTurns: 1 })
      const applied: Array<number> = []
      for (let t = 0; t < turns.length; t++) {
        const out = yield* pruner.prune({ conversationId: "c", request: turns[t]!.conversation as MessagesRequest })
        if (out.decision._tag === "Applied") applied.push(t)
        if (t === round) {
          // every candidate of the turns up to the round, at once
          const expected = turns.slice(0, round + 1).reduce((n, x) => n + x.fresh.length, 0)
          expect(Object.values(out.pruned).length).toBeGreaterThan(0)
          expect(expected).toBeGreaterThan(0)
        }
      }
      expect(applied).toEqual([round])
    }))
})

describe("the strategies side by side", () => {
  it.effect("each strategy runs as it says: off prunes nothing, eager at least what on prunes, the server clears, hindsight follows its rounds", () =>
    Effect.gen(function*() {
      const [row] = yield* PruningComparison.run(["agent-session"])
      expect(Object.keys(row!.cost).sort()).toEqual([...PruningComparison.strategies].sort())
      expect(row!.pruned.off).toBe(0)
      expect(row!.pruned.eager).toBeGreaterThanOrEqual(row!.pruned.on)
      expect(row!.pruned.server).toBeGreaterThan(0)
      expect(row!.pruned.hindsight).toBeGreaterThan(0)
      // the same requests, priced: the strategies differ in what they cost
      expect(new Set(Object.values(row!.cost)).size).toBeGreaterThan(2)
      expect(PruningComparison.render([row!])).toContain("agent-session")
    }), 60_000)
})

describe("the price-aware pruner on generated sessions", () => {
  it.effect("property: its rounds never cost more than not pruning, beyond one batching threshold's write (in the oracle's model)", () =>
    Effect.gen(function*() {
      const clearAtLeast = ContextPruner.defaults.clearAtLeast
      const sessions = fc.sample(shapes({ steps: 40, fanOut: 8, files: 8, tokens: 5000 }), { numRuns: 30, seed: 20 })
      let pruned = 0
      for (const shape of sessions) {
        const workload = GeneratedWorkloads.generate({ name: "p", ...shape })
        const turns = Hindsight.turnsOf(workload)
        const pruner = yield* ContextPruner.make()
        const rounds = new Set<number>()
        const left = (t: number) => turns.slice(t + 1).reduce((n, x) => n + x.requests, 0)
        for (let t = 0; t < turns.length; t++) {
          const out = yield* pruner.prune({ conversationId: "c", request: turns[t]!.conversation, expectedRemainingRequests: left(t) })
          if (out.decision._tag === "Applied") rounds.add(t)
        }
        const off = Hindsight.costOf(turns, new Set(), Multipliers)
        const on = Hindsight.costOf(turns, rounds, Multipliers)
        expect(on, JSON.stringify(shape)).toBeLessThanOrEqual(off + clearAtLeast * Multipliers.write5m)
        if (rounds.size > 0) pruned++
      }
      // not vacuous: the pruner did prune in part of them (5 of these 30)
      expect(pruned).toBeGreaterThan(sessions.length / 8)
    }), 120_000)
})
