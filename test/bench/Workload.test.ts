import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Workload from "../../src/bench/Workload.js"

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
})
