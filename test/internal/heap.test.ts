import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Heap } from "../../src/internal/heap.js"

describe("Heap", () => {
  it("pops in the order it is given, ties included, whatever the order of pushes and pops", () =>
    fc.assert(fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant("pop" as const)), { maxLength: 200 }), (ops) => {
      // ordered by key, and among equal keys the later push first (as the virtual clock's sleepers)
      const heap = new Heap<{ key: number; seq: number }>((a, b) => a.key < b.key || (a.key === b.key && a.seq > b.seq))
      const model: Array<{ key: number; seq: number }> = []
      let seq = 0
      for (const op of ops) {
        if (op === "pop") {
          model.sort((a, b) => a.key - b.key || b.seq - a.seq)
          expect(heap.pop()).toEqual(model.shift())
        } else {
          const item = { key: op, seq: seq++ }
          heap.push(item)
          model.push(item)
        }
        expect(heap.size).toBe(model.length)
      }
    })))
})
