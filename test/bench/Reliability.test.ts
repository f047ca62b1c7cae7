/**
 * Reliability: a fault soak with every request and attempt accounted for, interruption at random
 * points, Ctrl-C, a table of bad inputs through the program and the library, and a scan of every
 * output for the API key.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as CacheWarmer from "../../src/CacheWarmer.js"
import * as SimulatedPipeline from "../../src/simulator/SimulatedPipeline.js"
import * as Pipeline from "../../src/Pipeline.js"
import type { MessagesRequest } from "../../src/Prompt.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"
import * as Soak from "../../src/bench/Soak.js"
import * as CacheMetrics from "../../src/CacheMetrics.js"
import { LanguageModel } from "../../src/LanguageModel.js"
import { Overloaded } from "../../src/ProviderError.js"
import * as RetryPolicy from "../../src/RetryPolicy.js"
import { program } from "../cli/program.js"
import { textOfTokens, anthropicModel, until } from "../fixtures.js"

const KEY = "sk-ant-reliability-secret-4242"
const outputs: Array<string> = []

/** the program as a separate process; every output is kept for the secrets scan */
const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.tap(program(args, env), (r) => Effect.sync(() => void outputs.push(r.stdout, r.stderr)))

const dir = mkdtempSync(join(tmpdir(), "epc-reliability-"))
const file = (name: string, content: unknown) => {
  const path = join(dir, name)
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content))
  return path
}
const workload = (turn: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: "bad",
  model: "claude-sonnet-4-6",
  system: "You are terse.",
  turns: [{ requests: [{ prompt: "go" }], ...turn }],
  ...extra
})

/** the simulator, except that every warm call (max_tokens 0) fails with a 529 */
const warmCallsFail = Layer.effect(
  LanguageModel,
  Effect.map(LanguageModel, (lm) => ({
    ...lm,
    create: (r: MessagesRequest) => (r.max_tokens === 0 ? Effect.fail(new Overloaded({ detail: "busy" })) : lm.create(r))
  }))
).pipe(Layer.provide(SimulatedProvider.layer()))

const server = (options: SimulatedProvider.SimulatorConfig = { latency: SimulatedProvider.zeroLatency }) =>
  SimulatorServer.layer({ apiKey: KEY }).pipe(Layer.provide(SimulatedProvider.layer(options)))

describe("fault soak (CI-sized; npm run soak runs 10,000 requests per transport)", () => {
  it.live("in-process, virtual time: nothing lost, nothing twice, every attempt accounted, nothing held", () =>
    Effect.gen(function*() {
      const r = yield* Soak.run({ transport: "in-process", sessions: 200, turns: 2, fanOut: 3 })
      expect(Soak.problems(r)).toEqual([])
      expect(r.outcomes).toBe(1200)
      expect(r.duplicates).toBe(0)
      expect(r.providerCalls).toBe(r.accountedCalls)
      expect(r.retries).toBeGreaterThan(300) // ~40% of attempts fail and are retried
      expect(r.succeeded).toBeGreaterThan(1150)
      // every failure is a typed error after its retry budget
      for (const tag of Object.keys(r.failedByError)) {
        expect(["Overloaded", "RateLimited", "ServerError", "ConnectionError", "Timeout"]).toContain(tag)
      }
      expect(r.gates + r.warmsInFlight).toBe(0)
    }), 120_000)

  it.live("over HTTP through the real SDK: the server saw exactly the attempts the metrics account for", () =>
    Effect.gen(function*() {
      const r = yield* Soak.run({ transport: "http", sessions: 50, turns: 2, fanOut: 5 })
      expect(Soak.problems(r)).toEqual([])
      expect(r.outcomes).toBe(500)
      expect(r.providerCalls).toBe(r.accountedCalls)
      expect(r.retries).toBeGreaterThan(100)
      expect(r.succeeded).toBeGreaterThan(480)
    }), 120_000)

  it.live("many distinct prefixes: the registry stays within its bound, no gate is left", () =>
    Effect.gen(function*() {
      const r = yield* Soak.run({
        transport: "http",
        sessions: 300,
        turns: 1,
        fanOut: 2,
        distinctPrefixes: true,
        registryMaxEntries: 50,
        faults: { seed: 3 }
      })
      expect(Soak.problems(r)).toEqual([])
      expect(r.registrySize).toBeLessThanOrEqual(50)
      expect(r.gates).toBe(0)
    }), 120_000)

  it.effect("warm failures never fail a request", () =>
    Effect.gen(function*() {
      const pipeline = yield* Pipeline.Pipeline
      const fiber = yield* Effect.fork(Effect.forEach([1, 2, 3], (t) =>
        pipeline.turn({
          sessionId: "w",
          conversation: {
            model: "claude-sonnet-4-6",
            max_tokens: 50,
            system: textOfTokens(3000),
            messages: [{ role: "user", content: `question ${t}` }]
          },
          prompts: [{ prompt: "a" }, { prompt: "b" }, { prompt: "c" }]
        })))
      yield* TestClock.adjust("10 minutes")
      const turns = yield* Fiber.join(fiber)
      for (const turn of turns) {
        expect(turn.warm?._tag).toBe("Failed")
        expect(turn.responses.every(Either.isRight)).toBe(true)
      }
      const snapshot = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
      expect(snapshot.calls.warm.failures).toBe(3)
      expect(snapshot.calls.request.count).toBe(9)
      expect(snapshot.calls.request.failures).toBe(0)
    }).pipe(Effect.provide(
      Pipeline.layer({
        pruner: false,
        warmer: { policy: "auto", method: "warm-call", retry: RetryPolicy.exponentialBackoff({ maxRetries: 2, baseDelayMs: 5 }) }
      }).pipe(Layer.provide(warmCallsFail))
    )))
})

describe("interruption", () => {
  it.effect("cancelled at random points (mid-warm, mid-gate, mid-stream): nothing held, the next run works", () =>
    Effect.gen(function*() {
      const pipeline = yield* Pipeline.Pipeline
      const warmer = yield* CacheWarmer.CacheWarmer
      const turn = (s: number, t: number) =>
        pipeline.turn({
          sessionId: `s${s}`,
          conversation: {
            model: "claude-sonnet-4-6",
            max_tokens: 50,
            system: textOfTokens(4000),
            messages: [{ role: "user", content: `user ${s} turn ${t}` }]
          },
          prompts: [{ prompt: "a" }, { prompt: "b" }, { prompt: "c" }]
        })
      let seed = 7
      const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647
      for (let round = 0; round < 10; round++) {
        const fibers = yield* Effect.forEach(Array.from({ length: 20 }, (_, s) => s), (s) => Effect.fork(turn(s, round)))
        // interrupt half of them at random moments: before the leader began, while waiters wait, mid-stream
        for (const f of fibers) {
          if (random() < 0.5) {
            yield* TestClock.adjust(`${Math.floor(random() * 900)} millis`)
            yield* Fiber.interrupt(f)
          }
        }
        yield* TestClock.adjust("2 minutes")
        yield* Effect.forEach(fibers, Fiber.await)
        expect(yield* warmer.state).toMatchObject({ gates: 0, warmsInFlight: 0 })
      }
      // the next run works
      const after = yield* Effect.fork(turn(99, 0))
      yield* TestClock.adjust("2 minutes")
      const result = yield* Fiber.join(after)
      expect(result.responses.every(Either.isRight)).toBe(true)
      const calls = yield* Effect.flatMap(SimulatedProvider.Simulator, (s) => s.calls)
      expect(calls.some((c) => c.outcome === "interrupted")).toBe(true)
      expect(calls.every((c) => c.outcome !== "pending")).toBe(true)
    }).pipe(Effect.provide(SimulatedPipeline.layer({ pruner: false }))), 60_000)

  it.live("interrupting a streamed request over HTTP cancels it on the server", () =>
    Effect.gen(function*() {
      const s = yield* SimulatorServer.SimulatorServer
      const sim = yield* SimulatedProvider.Simulator
      const lm = yield* anthropicModel({ apiKey: KEY, baseURL: s.url })
      const request: MessagesRequest = { model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "slow" }] }
      const fiber = yield* Effect.fork(Stream.runDrain(lm.stream(request)))
      yield* until(Effect.map(sim.calls, (calls) => calls.length === 1))
      yield* Fiber.interrupt(fiber)
      yield* until(Effect.map(sim.calls, (calls) => calls[0]!.outcome !== "pending"))
      const calls = yield* sim.calls
      expect(calls.map((c) => c.outcome)).toEqual(["interrupted"])
    }).pipe(Effect.provide(
      SimulatorServer.layer({ apiKey: KEY }).pipe(
        Layer.provideMerge(SimulatedProvider.layer({ latency: { ...SimulatedProvider.zeroLatency, baseMs: 5000 } }))
      )
    )))

  it.live("Ctrl-C on the program prints the partial report and exits non-zero", () =>
    Effect.gen(function*() {
      const s = yield* SimulatorServer.SimulatorServer
      // SIGINT once the program's first request has reached the server, however long start-up took
      const r = yield* program(["run", "--workload", "single-chat", "--provider", "anthropic"], {
        ANTHROPIC_API_KEY: KEY,
        ANTHROPIC_BASE_URL: s.url
      }, Effect.map(s.received, (received) => received.length > 0))
      expect(r.stderr).toContain("interrupted; partial report")
      expect(r.stderr).toContain("single-chat")
      expect(r.code === null ? r.signal : r.code).not.toBe(0)
    }).pipe(Effect.provide(server({ latency: { ...SimulatedProvider.zeroLatency, baseMs: 300 } }))), 60_000)
})

describe("bad input: a clear message, a non-zero exit, and nothing sent when it is detectable locally", () => {
  const bad: ReadonlyArray<{ name: string; args: () => ReadonlyArray<string>; text: string; sent?: number; env?: Record<string, string> }> = [
    { name: "workload file missing", args: () => ["run", "--workload", join(dir, "none.json")], text: "no such file" },
    { name: "not JSON", args: () => ["run", "--workload", file("notjson.json", "{ turns: ")], text: "not JSON" },
    {
      name: "wrong types, with the JSON path",
      args: () => ["run", "--workload", file("types.json", workload({ requests: [{ prompt: 42 }] }))],
      text: "turns.0.requests.0.prompt"
    },
    {
      name: "unknown model without a price",
      args: () => ["run", "--workload", file("model.json", workload({}, { model: "claude-sonnet-9" }))],
      text: 'no price for model "claude-sonnet-9"'
    },
    {
      name: "empty text",
      args: () => ["run", "--workload", file("empty.json", workload({ append: [{ role: "user", content: [{ type: "text", text: "" }] }] }))],
      text: "text content blocks must be non-empty"
    },
    {
      name: "orphan tool_result",
      args: () => [
        "run",
        "--workload",
        file("orphan.json", workload({ append: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_9", content: "x" }] }] }))
      ],
      text: "unexpected `tool_use_id` found in `tool_result` blocks: toolu_9"
    },
    {
      name: "tool_use without its result",
      args: () => [
        "run",
        "--workload",
        file("nores.json", workload({
          append: [
            { role: "user", content: "go" },
            { role: "assistant", content: [{ type: "tool_use", id: "toolu_7", name: "read", input: {} }] },
            { role: "user", content: "next" }
          ]
        }))
      ],
      text: "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_7"
    },
    {
      name: "5 breakpoints",
      args: () => [
        "run",
        "--workload",
        file("five.json", workload({}, { system: [1, 2, 3, 4, 5].map((i) => ({ type: "text", text: `s${i}`, cache_control: { type: "ephemeral" } })) }))
      ],
      text: "A maximum of 4 blocks with cache_control may be provided. Found 5."
    },
    {
      name: "1h after 5m",
      args: () => [
        "run",
        "--workload",
        file("ttl.json", workload({}, {
          system: [{ type: "text", text: "a", cache_control: { type: "ephemeral" } }, {
            type: "text",
            text: "b",
            cache_control: { type: "ephemeral", ttl: "1h" }
          }]
        }))
      ],
      text: "ttl='1h'"
    },
    {
      name: "negative idleSeconds",
      args: () => ["run", "--workload", file("idle.json", workload({ idleSeconds: -5 }))],
      text: "turns.0.idleSeconds"
    },
    {
      name: "huge file",
      args: () => ["run", "--workload", file("huge.json", " ".repeat(8 * 1024 * 1024 + 10))],
      text: "the limit is 8388608 bytes (8 MiB)"
    },
    { name: "missing API key", args: () => ["run", "--workload", "single-chat", "--provider", "anthropic"], text: "ANTHROPIC_API_KEY", env: { ANTHROPIC_API_KEY: "" } },
    {
      name: "invalid API key (a 401 from the server, mapped)",
      args: () => ["run", "--workload", file("ok.json", workload({})), "--provider", "anthropic"],
      text: "authentication failed",
      env: { ANTHROPIC_API_KEY: "sk-wrong-key" },
      sent: 1
    },
    { name: "unreadable price file", args: () => ["run", "--prices", join(dir, "none-prices.json")], text: "--prices" },
    { name: "faults adding up to more than 1", args: () => ["serve", "--faults", "overloaded=0.7,timeout=0.5"], text: "more than 1" }
  ]

  for (const c of bad) {
    it.live(c.name, () =>
      Effect.gen(function*() {
        const s = yield* SimulatorServer.SimulatorServer
        const r = yield* cli(c.args(), { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: s.url, ...c.env })
        expect(r.code).not.toBe(0)
        const lines = r.stderr.trim().split("\n")
        expect(lines).toHaveLength(1)
        expect(lines[0]).toMatch(/^error: /)
        expect(lines[0]).toContain(c.text)
        expect((yield* s.received).length).toBe(c.sent ?? 0)
      }).pipe(Effect.provide(server())), 60_000)
  }

  const library: ReadonlyArray<{ name: string; request: MessagesRequest; stream?: boolean; text: string }> = [
    { name: "empty messages", request: { model: "claude-sonnet-4-6", max_tokens: 10, messages: [] }, text: "at least one message" },
    {
      name: "max_tokens 0 with stream",
      request: { model: "claude-sonnet-4-6", max_tokens: 0, messages: [{ role: "user", content: "x" }] },
      stream: true,
      text: "max_tokens: 0 is not supported with stream: true"
    },
    {
      name: "5 breakpoints",
      request: {
        model: "claude-sonnet-4-6",
        max_tokens: 10,
        system: [1, 2, 3, 4, 5].map((i) => ({ type: "text" as const, text: `s${i}`, cache_control: { type: "ephemeral" as const } })),
        messages: [{ role: "user", content: "x" }]
      },
      text: "Found 5"
    }
  ]
  for (const c of library) {
    it.live(`library: ${c.name} fails with InvalidPrompt and sends nothing`, () =>
      Effect.gen(function*() {
        const s = yield* SimulatorServer.SimulatorServer
        const lm = yield* anthropicModel({ apiKey: KEY, baseURL: s.url })
        const error = yield* Effect.flip(c.stream === true ? Stream.runDrain(lm.stream(c.request)) : lm.create(c.request))
        expect(error._tag).toBe("InvalidPrompt")
        expect(error.message).toContain(c.text)
        expect(yield* s.received).toHaveLength(0)
      }).pipe(Effect.provide(server())))
  }
})

describe("secrets", () => {
  it.live("a run at debug log level over the real SDK prints no key", () =>
    Effect.gen(function*() {
      const s = yield* SimulatorServer.SimulatorServer
      const r = yield* cli(["--log-level", "debug", "run", "--workload", file("fan.json", {
        name: "fan",
        model: "claude-sonnet-4-6",
        system: textOfTokens(3000),
        turns: [{ append: [{ role: "user", content: "go" }], requests: [{ prompt: "a" }, { prompt: "b" }] }]
      }), "--provider", "anthropic", "--json"], { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: s.url })
      expect(r.code).toBe(0)
      expect((yield* s.received).every((x) => x.apiKeySha256 === SimulatorServer.keyDigest(KEY))).toBe(true)
    }).pipe(Effect.provide(server())), 60_000)

  afterAll(() => {
    // every output of every program run in this file: reports, errors, logs
    expect(outputs.length).toBeGreaterThan(20)
    for (const out of outputs) expect(out).not.toContain(KEY)
  })
})
