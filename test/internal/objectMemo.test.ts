import { describe, expect, it } from "@effect/vitest"
import { ObjectMemo } from "../../src/internal/objectMemo.js"

describe("ObjectMemo", () => {
  it("remembers a value per object, unseen by keys, spread, JSON and equality", () => {
    const memo = new ObjectMemo<string>("test")
    const block = { type: "text", text: "hello" }
    expect(memo.get(block)).toBeUndefined()
    memo.set(block, "digest")
    expect(memo.get(block)).toBe("digest")
    memo.set(block, "again")
    expect(memo.get(block)).toBe("again")
    expect(Object.keys(block)).toEqual(["type", "text"])
    expect(JSON.stringify(block)).toBe(`{"type":"text","text":"hello"}`)
    expect(block).toStrictEqual({ type: "text", text: "hello" })
    const copy = { ...block }
    expect(memo.get(copy)).toBeUndefined()
  })

  it("a copy that carries the property, or an object that inherits it, misses", () => {
    const memo = new ObjectMemo<string>("test")
    const block = { type: "text", text: "hello" }
    memo.set(block, "digest")
    const described = Object.defineProperties({}, Object.getOwnPropertyDescriptors(block)) as { text: string }
    described.text = "changed"
    expect(memo.get(described)).toBeUndefined()
    expect(memo.get(Object.create(block) as object)).toBeUndefined()
  })

  it("frozen, sealed and non-extensible objects are remembered too", () => {
    const memo = new ObjectMemo<number>("test")
    const objects = [Object.freeze({ a: 1 }), Object.seal({ b: 2 }), Object.preventExtensions({ c: 3 })]
    objects.forEach((o, i) => memo.set(o, i))
    objects.forEach((o, i) => expect(memo.get(o)).toBe(i))
    expect(memo.get({ a: 1 })).toBeUndefined()
  })

  it("two memos on one object are independent", () => {
    const a = new ObjectMemo<string>("same name")
    const b = new ObjectMemo<string>("same name")
    const o = {}
    a.set(o, "a")
    expect(b.get(o)).toBeUndefined()
    b.set(o, "b")
    expect([a.get(o), b.get(o)]).toEqual(["a", "b"])
  })
})
