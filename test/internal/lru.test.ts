import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { LruMap } from "../../src/internal/lru.js"

/** the model: an array of [key, value], least recent first */
type Op =
  | { readonly op: "get" | "peek" | "delete"; readonly key: number }
  | { readonly op: "set"; readonly key: number; readonly value: number }
  | { readonly op: "getOrCreate"; readonly key: number; readonly value: number }
  | { readonly op: "clear" }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom("get" as const, "peek" as const, "delete" as const), key: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constantFrom("set" as const, "getOrCreate" as const), key: fc.integer({ min: 0, max: 7 }), value: fc.integer() }),
  fc.constant({ op: "clear" as const })
)

describe("LruMap", () => {
  it("behaves as a list ordered by last use, bounded, evicting the least recent", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.array(opArb, { maxLength: 80 }), (max, ops) => {
      const evicted: Array<[number, number]> = []
      const lru = new LruMap<number, number>(max, (k, v) => evicted.push([k, v]))
      let model: Array<[number, number]> = []
      const modelEvicted: Array<[number, number]> = []
      const touch = (key: number) => {
        const i = model.findIndex(([k]) => k === key)
        if (i < 0) return undefined
        const [entry] = model.splice(i, 1)
        model.push(entry!)
        return entry![1]
      }
      const put = (key: number, value: number) => {
        model = model.filter(([k]) => k !== key)
        model.push([key, value])
        while (model.length > max) modelEvicted.push(model.shift()!)
      }
      for (const o of ops) {
        switch (o.op) {
          case "get":
            expect(lru.get(o.key)).toBe(touch(o.key))
            break
          case "peek":
            expect(lru.peek(o.key)).toBe(model.find(([k]) => k === o.key)?.[1])
            break
          case "delete": {
            const had = model.some(([k]) => k === o.key)
            model = model.filter(([k]) => k !== o.key)
            expect(lru.delete(o.key)).toBe(had)
            break
          }
          case "set":
            lru.set(o.key, o.value)
            put(o.key, o.value)
            break
          case "getOrCreate": {
            const existing = touch(o.key)
            if (existing === undefined) put(o.key, o.value)
            expect(lru.getOrCreate(o.key, () => o.value)).toBe(existing ?? o.value)
            break
          }
          case "clear":
            lru.clear()
            model = []
        }
        expect(lru.entries()).toEqual(model)
        expect(lru.size).toBe(model.length)
        expect(lru.oldest()).toEqual(model[0])
      }
      expect(evicted).toEqual(modelEvicted)
    }))
  })

  it("lets entries be deleted while its entries are walked", () => {
    const lru = new LruMap<string, number>(10)
    for (const [i, k] of ["a", "b", "c", "d"].entries()) lru.set(k, i)
    for (const [k, v] of lru.entries()) if (v % 2 === 0) lru.delete(k)
    expect(lru.entries()).toEqual([["b", 1], ["d", 3]])
  })
})
