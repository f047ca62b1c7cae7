/**
 * The warmer's gate table on its own: single decisions, waiting on the longest key being
 * established, release, and the watchdog (on TestClock).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as GateTable from "../../src/internal/gateTable.js"

describe("GateTable", () => {
  it.scoped("nothing cold goes direct; the first caller over cold keys leads, the next waits on its gate", () =>
    Effect.gen(function*() {
      const table = yield* GateTable.make(60_000)
      expect(table.decide([])._tag).toBe("Direct")
      const lead = table.decide(["a", "ab"])
      expect(lead._tag).toBe("Lead")
      expect(table.size()).toBe(2)
      // a caller that needs only the shorter key waits on the same gate
      const wait = table.decide(["a"])
      expect(wait).toEqual({ _tag: "Wait", gate: (lead as { gate: GateTable.Gate }).gate })
      // a caller with a longer cold key waits for the longest one being established
      expect(table.decide(["a", "ab", "abc"])._tag).toBe("Wait")
    }))

  it.scoped("release: the keys leave the table before the waiters wake, with the outcome", () =>
    Effect.gen(function*() {
      const table = yield* GateTable.make(60_000)
      const lead = table.decide(["k"])
      if (lead._tag !== "Lead") throw new Error("expected to lead")
      const waiter = yield* Effect.fork(Effect.flatMap(Deferred.await(lead.gate), (outcome) => Effect.sync(() => ({ outcome, size: table.size() }))))
      yield* table.release(lead.keys, lead.gate, "ready")
      expect(yield* Fiber.join(waiter)).toEqual({ outcome: "ready", size: 0 })
      // a released key can be led again
      expect(table.decide(["k"])._tag).toBe("Lead")
    }))

  it.scoped("the watchdog releases a gate `failed` after maxWaitMs, not before", () =>
    Effect.gen(function*() {
      const table = yield* GateTable.make(1_000)
      const lead = table.decide(["k"])
      if (lead._tag !== "Lead") throw new Error("expected to lead")
      yield* TestClock.adjust("999 millis")
      expect(yield* Deferred.isDone(lead.gate)).toBe(false)
      yield* TestClock.adjust("1 millis")
      expect(yield* Deferred.await(lead.gate)).toBe("failed")
      expect(table.size()).toBe(0)
    }))

  it.scoped("a gate released early is not touched by its deadline: the key's next gate stays open", () =>
    Effect.gen(function*() {
      const table = yield* GateTable.make(1_000)
      const first = table.decide(["k"])
      if (first._tag !== "Lead") throw new Error("expected to lead")
      yield* table.release(first.keys, first.gate, "ready")
      yield* TestClock.adjust("500 millis")
      const second = table.decide(["k"])
      if (second._tag !== "Lead") throw new Error("expected to lead")
      yield* TestClock.adjust("600 millis") // the first gate's deadline passes
      expect(table.size()).toBe(1)
      expect(yield* Deferred.isDone(second.gate)).toBe(false)
    }))
})
