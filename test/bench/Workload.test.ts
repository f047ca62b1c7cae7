import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Runner from "../../src/bench/Runner.js"
import * as Workload from "../../src/bench/Workload.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as VirtualTime from "../../src/simulator/VirtualTime.js"

const dir = mkdtempSync(join(tmpdir(), "epc-workload-"))
const file = (name: string, content: string) => {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}
const valid = {
  name: "w",
  model: "claude-sonnet-4-6",
  system: "You are terse.",
  turns: [{ append: [{ role: "user", content: "hi" }], requests: [{ prompt: "answer" }] }]
}

const failure = (nameOrPath: string) => Effect.flip(Workload.load(nameOrPath))

describe("Workload", () => {
  it.effect("every built-in loads and passes validatePrompt", () =>
    Effect.gen(function*() {
      for (const name of Workload.builtinNames) {
        const w = yield* Workload.load(name)
        expect(w.name).toBe(name)
      }
    }))

  it.effect("a valid file loads", () =>
    Effect.gen(function*() {
      const w = yield* Workload.load(file("ok.json", JSON.stringify(valid)))
      expect(w.turns).toHaveLength(1)
    }))

  it.effect("missing file", () =>
    Effect.gen(function*() {
      const e = yield* failure(join(dir, "missing.json"))
      expect(e.reason).toBe("not_found")
      expect(e.message).toContain("agent-session")
    }))

  it.effect("not JSON", () =>
    Effect.gen(function*() {
      const e = yield* failure(file("bad.json", "{ nope"))
      expect(e.reason).toBe("not_json")
    }))

  it.effect("wrong types are reported with their JSON path", () =>
    Effect.gen(function*() {
      const e = yield* failure(file("types.json", JSON.stringify({ ...valid, turns: [{ requests: [{ prompt: 5 }] }] })))
      expect(e.reason).toBe("schema")
      expect(e.message).toContain("turns.0.requests.0.prompt")
      const e2 = yield* failure(file("types2.json", JSON.stringify({ ...valid, sessions: -2 })))
      expect(e2.message).toContain("sessions")
    }))

  it.effect("negative idleSeconds", () =>
    Effect.gen(function*() {
      const e = yield* failure(file("idle.json", JSON.stringify({ ...valid, turns: [{ ...valid.turns[0], idleSeconds: -1 }] })))
      expect(e.message).toContain("turns.0.idleSeconds")
    }))

  it.effect("a prompt the API would reject is found before anything is sent", () =>
    Effect.gen(function*() {
      const orphan = {
        ...valid,
        turns: [{ append: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_x", content: "?" }] }], requests: [{ prompt: "go" }] }]
      }
      const e = yield* failure(file("orphan.json", JSON.stringify(orphan)))
      expect(e.reason).toBe("invalid_prompt")
      expect(e.message).toContain("turns.0.requests.0")
      expect(e.message).toContain("toolu_x")
    }))

  it.effect("an unknown model without a price", () =>
    Effect.gen(function*() {
      const e = yield* failure(file("model.json", JSON.stringify({ ...valid, model: "claude-unknown-9" })))
      expect(e.reason).toBe("unknown_model")
      expect(e.message).toContain("claude-unknown-9")
      // priced by the caller: fine
      const ok = yield* Workload.load(join(dir, "model.json"), { "claude-unknown-9": { input: 1, output: 2, minCacheableTokens: 1024 } })
      expect(ok.model).toBe("claude-unknown-9")
    }))

  it.effect("a file over the size limit", () =>
    Effect.gen(function*() {
      const path = file("huge.json", " ".repeat(Workload.MAX_FILE_BYTES + 1))
      const e = yield* failure(path)
      expect(e.reason).toBe("too_large")
      expect(e.message).toContain("8 MiB")
    }))

  it("{session} is substituted per session copy", () => {
    const w = Option.getOrThrow(Workload.builtin("multi-user-burst"))
    const c3 = Workload.conversationAt(w, 3, 0)
    expect(JSON.stringify(c3.messages)).toContain("Customer 3")
    expect(JSON.stringify(c3.messages)).not.toContain("{session}")
  })

  it("{session} copies: every string and key substituted, what holds no placeholder shared, nothing else changed", () => {
    const w: Workload.Workload = {
      ...valid,
      turns: [{
        append: [
          { role: "user", content: [{ type: "text", text: "plain" }, { type: "text", text: "user {session}, again {session}" }] },
          { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "read", input: { "path_{session}": "/home/{session}", n: 3, ok: true, none: null } }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "fine" }] }
        ],
        requests: [{ prompt: "for {session}" }, { prompt: "same for all" }]
      }]
    }
    const c7 = Workload.conversationAt(w, 7, 0)
    // as a JSON round trip with the placeholder replaced would give
    expect(c7.messages).toEqual(JSON.parse(JSON.stringify(w.turns[0]!.append).replaceAll("{session}", "7")))
    expect(Workload.promptsAt(w, 7, 0)).toEqual([{ prompt: "for 7" }, { prompt: "same for all" }])
    // the parts without a placeholder are the workload's own objects, shared by every copy
    const appended = w.turns[0]!.append!
    expect(c7.messages[2]).toBe(appended[2])
    expect((c7.messages[0]!.content as ReadonlyArray<unknown>)[0]).toBe((appended[0]!.content as ReadonlyArray<unknown>)[0])
    expect(c7.messages[0]).not.toBe(appended[0])
    expect(Workload.promptsAt(w, 7, 0)[1]).toBe(w.turns[0]!.requests[1])
  })
})

describe("Workload: hostile files and values", () => {
  const bounded: ReadonlyArray<readonly [string, Record<string, unknown>, string]> = [
    ["sessions: 1e7", { ...valid, sessions: 1e7 }, "at most 1,000,000 sessions, got 10000000"],
    ["arrivals.perSecond: 1e9", { ...valid, arrivals: { perSecond: 1e9 } }, "at most 10,000 a second, got 1000000000"],
    ["arrivals.perSecond: 0", { ...valid, arrivals: { perSecond: 0 } }, "arrivals.perSecond"],
    ["arrivals.daily: 23 weights", { ...valid, arrivals: { perSecond: 1, daily: Array.from({ length: 23 }, () => 1) } }, "24 hourly weights, one per hour of the day"],
    ["arrivals.daily: all zero", { ...valid, arrivals: { perSecond: 1, daily: Array.from({ length: 24 }, () => 0) } }, "at least one hour must have a weight above 0"],
    ["arrivals.daily: a negative weight", { ...valid, arrivals: { perSecond: 1, daily: [-1, ...Array.from({ length: 23 }, () => 1)] } }, "arrivals.daily.0"],
    ["idleSeconds: 1e15", { ...valid, turns: [{ ...valid.turns[0], idleSeconds: 1e15 }] }, "at most 86400 seconds"],
    ["maxTokens: 1e12", { ...valid, maxTokens: 1e12 }, "at most 1,000,000"],
    ["a request's maxTokens: 2^31", { ...valid, turns: [{ ...valid.turns[0], requests: [{ prompt: "a", maxTokens: 2 ** 31 }] }] }, "at most 1,000,000"],
    ["65 requests in a turn", { ...valid, turns: [{ ...valid.turns[0], requests: Array.from({ length: 65 }, () => ({ prompt: "a" })) }] }, "at most 64 requests per turn"]
  ]
  for (const [name, content, says] of bounded) {
    it.effect(`${name}: refused by the schema, with the limit in the message`, () =>
      Effect.gen(function*() {
        const e = yield* failure(file(`${name.replace(/\W/g, "_")}.json`, JSON.stringify(content)))
        expect(e.reason).toBe("schema")
        expect(e.message).toContain(says)
      }))
  }

  it.effect("max_tokens within the schema but over the model's output limit: refused before anything is sent", () =>
    Effect.gen(function*() {
      const e = yield* failure(file("over.json", JSON.stringify({ ...valid, model: "claude-sonnet-4-5", maxTokens: 100_000 })))
      expect(e.reason).toBe("invalid_prompt")
      expect(e.message).toContain("max_tokens: 100000 > 64000")
    }))

  it.effect("a directory is not a workload file", () =>
    Effect.gen(function*() {
      const e = yield* failure(dir)
      expect(e.reason).toBe("not_a_file")
      expect(e.message).toContain("is a directory")
    }))

  it.effect("100,000-deep nesting is refused by its depth, with the file named, before any parser recurses", () =>
    Effect.gen(function*() {
      const path = file("deep.json", "[".repeat(100_000) + "]".repeat(100_000))
      const e = yield* failure(path)
      expect(e.reason).toBe("too_deep")
      expect(e.message).toBe(`workload ${path}: JSON nested 100000 levels deep; the limit is 256`)
    }))

  it.effect("a UTF-8 byte order mark before valid JSON is accepted", () =>
    Effect.gen(function*() {
      const w = yield* Workload.load(file("bom.json", "\uFEFF" + JSON.stringify(valid)))
      expect(w.name).toBe("w")
    }))

  it.effect("bytes echoed from a binary file lose their control characters; a newline in the path stays on one line", () =>
    Effect.gen(function*() {
      const binary = yield* failure(file("binary.json", "\u001b[31mRED\u001b[0m\u0007\u0000garbage"))
      expect(binary.reason).toBe("not_json")
      expect(binary.message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/)
      const odd = yield* failure(file("line\nbreak.json", "{ nope"))
      expect(odd.message.split("\n")).toHaveLength(1)
      expect(odd.message).toContain("line\\nbreak.json")
    }))
})

describe("the documented example workload", () => {
  it.effect("examples/workloads/review.json loads and caches: one write per turn's prefix, the other requests read it", () =>
    Effect.gen(function*() {
      const w = yield* Workload.load("examples/workloads/review.json")
      const { report } = yield* VirtualTime.run(Runner.run(
        w,
        { warming: "auto", pruning: true, provider: "simulated", simulatedTime: true },
        SimulatedProvider.layer()
      ))
      expect(report.failedRequests).toBe(0)
      expect(report.calls.request.cacheHits).toBeGreaterThan(report.calls.request.count / 2)
      expect(report.details.skippedWarms).not.toHaveProperty("no_breakpoint")
      expect(report.details.skippedWarms).not.toHaveProperty("below_minimum")
    }), 60_000)
})
