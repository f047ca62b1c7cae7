import { afterAll, beforeAll, describe, expect, it, vi } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as AnthropicClient from "../../src/anthropic/AnthropicClient.js"
import * as AnthropicProvider from "../../src/anthropic/AnthropicProvider.js"
import { LanguageModel, streamToResponse } from "../../src/LanguageModel.js"
import { isRetryable } from "../../src/ProviderError.js"
import type { MessagesRequest } from "../../src/Prompt.js"
import * as RetryPolicy from "../../src/RetryPolicy.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"
import { TokenCounter } from "../../src/TokenCounter.js"
import { MODEL, sharedPrefixRequest, textOfTokens, anthropicModel, until } from "../fixtures.js"

const API_KEY = "sk-ant-test-0123456789-very-secret"

// These tests use Sonnet 4.5 for its 1,024-token minimum; the SDK warns on every request that it is
// deprecated. Keep the output readable.
const warn = vi.spyOn(console, "warn")
beforeAll(() => void warn.mockImplementation(() => {}))
afterAll(() => void warn.mockRestore())

/** simulator + its HTTP server on 127.0.0.1 + the real SDK layer pointed at it */
const stack = (sim: SimulatedProvider.SimulatorConfig = { latency: SimulatedProvider.zeroLatency }) => {
  const simulator = SimulatedProvider.layer(sim)
  const server = SimulatorServer.layer({ apiKey: API_KEY }).pipe(Layer.provideMerge(simulator))
  const client = Layer.unwrapEffect(
    Effect.map(SimulatorServer.SimulatorServer, (s) =>
      AnthropicProvider.layer({ apiKey: Redacted.make(API_KEY), baseURL: s.url, timeoutMs: 5_000 }))
  )
  // the test sees the SDK-backed LanguageModel, plus the server and simulator for inspection
  const inspect = Layer.effectContext(
    Effect.map(
      Effect.context<SimulatorServer.SimulatorServer | SimulatedProvider.Simulator>(),
      Context.pick(SimulatorServer.SimulatorServer, SimulatedProvider.Simulator)
    )
  )
  return Layer.merge(client, inspect).pipe(Layer.provide(server))
}

const twoBreakpoints = (turn: string, extra: Partial<MessagesRequest> = {}): MessagesRequest => ({
  model: MODEL,
  max_tokens: 20,
  system: [{ type: "text", text: textOfTokens(2000), cache_control: { type: "ephemeral", ttl: "1h" } }],
  messages: [{
    role: "user",
    content: [{ type: "text", text: textOfTokens(1500, "conv"), cache_control: { type: "ephemeral" } }, {
      type: "text",
      text: turn
    }]
  }],
  ...extra
})

describe("AnthropicProvider over real HTTP", () => {
  it.live("maps usage, including the 5m/1h split, and sends the key as x-api-key", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      expect(lm.provider).toBe("anthropic")
      const first = yield* lm.create(twoBreakpoints("a"))
      expect(first.usage).toEqual({ input: 1, cacheCreation5m: 1503, cacheCreation1h: 2000, cacheRead: 0, output: 20 })
      expect(first.requestId).toMatch(/^req_/)
      const second = yield* lm.create(twoBreakpoints("b"))
      expect(second.usage.cacheRead).toBe(3503)
      const received = yield* SimulatorServer.SimulatorServer.pipe(Effect.flatMap((s) => s.received))
      expect(received.map((r) => r.apiKeySha256)).toEqual([SimulatorServer.keyDigest(API_KEY), SimulatorServer.keyDigest(API_KEY)])
      expect(received[0]!.anthropicVersion).toBeDefined()
    }).pipe(Effect.provide(stack())))

  it.live("stream: Begun arrives with the cache usage before completion", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const seen: Array<{ tag: string; at: number }> = []
      yield* lm.stream(twoBreakpoints("a")).pipe(
        Stream.runForEach((e) => Effect.sync(() => seen.push({ tag: e._tag, at: Date.now() })))
      )
      const tags = seen.map((s) => s.tag)
      expect(tags[0]).toBe("Begun")
      expect(tags.at(-1)).toBe("Completed")
      expect(tags.slice(1, -1).every((t) => t === "TextDelta")).toBe(true)
      expect(seen[2]!.at - seen[0]!.at).toBeGreaterThanOrEqual(150)
      let begun: unknown
      const response = yield* streamToResponse(lm.stream(twoBreakpoints("b")), (u) => Effect.sync(() => void (begun = u)))
      expect(begun).toMatchObject({ cacheRead: 3503 })
      expect(response.usage).toEqual({ input: 1, cacheCreation5m: 0, cacheCreation1h: 0, cacheRead: 3503, output: 20 })
      expect(response.content).toEqual([{ type: "text", text: expect.any(String) }])
    }).pipe(Effect.provide(stack({ latency: { ...SimulatedProvider.zeroLatency, outputMsPerToken: 10 } }))))

  it.live("the API's cache diagnosis (beta) passes through, JSON and streamed: the first point of divergence", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const first = yield* lm.create(twoBreakpoints("a", { diagnostics: { previous_message_id: null } }))
      // the first turn opts in: nothing to compare with, no diagnostics
      expect(first.diagnosis).toBeUndefined()
      // messages appended: no divergence
      const next: MessagesRequest = {
        ...twoBreakpoints("a", { diagnostics: { previous_message_id: first.id } }),
        messages: [...twoBreakpoints("a").messages, { role: "assistant", content: "ok" }, { role: "user", content: "and then?" }]
      }
      const same = yield* lm.create(next)
      expect(same.diagnosis).toBeUndefined()
      // an edited earlier entry
      const edited = yield* lm.create({ ...twoBreakpoints("a2"), diagnostics: { previous_message_id: first.id } })
      expect(edited.diagnosis?.reason).toBe("messages_changed")
      const changed: MessagesRequest = {
        ...next,
        diagnostics: { previous_message_id: same.id },
        system: [{ type: "text", text: `${textOfTokens(2000)} now at 12:00`, cache_control: { type: "ephemeral", ttl: "1h" } }]
      }
      const streamed = yield* streamToResponse(lm.stream(changed), () => Effect.void)
      const sentBefore = same.usage.input + same.usage.cacheRead + same.usage.cacheCreation5m + same.usage.cacheCreation1h
      // the tokens of the previous request after the divergence (no tools: all of it)
      expect(streamed.diagnosis).toEqual({ reason: "system_changed", missedInputTokens: sentBefore })
      const unknown = yield* lm.create(twoBreakpoints("d", { diagnostics: { previous_message_id: "msg_nobody_sent" } }))
      expect(unknown.diagnosis).toEqual({ reason: "previous_message_not_found" })
    }).pipe(Effect.provide(stack())))

  it.live("the API's context editing (beta): what it cleared comes back, JSON and streamed", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const messages: Array<MessagesRequest["messages"][number]> = [{ role: "user", content: "go" }]
      for (let i = 0; i < 6; i++) {
        messages.push({ role: "assistant", content: [{ type: "tool_use", id: `toolu_${i}`, name: "read", input: { i } }] })
        messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: `toolu_${i}`, content: textOfTokens(800, `r${i}`) }] })
      }
      const request: MessagesRequest = {
        model: MODEL,
        max_tokens: 20,
        messages,
        context_management: { edits: [{ type: "clear_tool_uses_20250919", trigger: { type: "input_tokens", value: 2000 } }] }
      }
      const json = yield* lm.create(request)
      expect(json.contextEdits).toEqual([{ type: "clear_tool_uses_20250919", clearedToolUses: 3, clearedInputTokens: expect.any(Number) }])
      expect(json.contextEdits![0]!.clearedInputTokens).toBeGreaterThan(3 * 700)
      const streamed = yield* streamToResponse(lm.stream(request), () => Effect.void)
      expect(streamed.contextEdits).toEqual(json.contextEdits)
    }).pipe(Effect.provide(stack())))

  it.live("max_tokens: 0 warm calls work over HTTP", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const warm = yield* lm.create(twoBreakpoints("a", { max_tokens: 0 }))
      expect(warm.content).toEqual([])
      expect(warm.stopReason).toBe("max_tokens")
      expect(warm.usage.output).toBe(0)
    }).pipe(Effect.provide(stack())))

  const statuses: ReadonlyArray<readonly [number, string, string]> = [
    [400, "invalid_request_error", "InvalidRequest"],
    [401, "authentication_error", "AuthenticationError"],
    [402, "billing_error", "BillingError"],
    [403, "permission_error", "PermissionError"],
    [404, "not_found_error", "NotFound"],
    [413, "request_too_large", "RequestTooLarge"],
    [429, "rate_limit_error", "RateLimited"],
    [500, "api_error", "ServerError"],
    [504, "timeout_error", "Timeout"],
    [529, "overloaded_error", "Overloaded"]
  ]
  it.live("each status maps to its typed error, with the request id", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const server = yield* SimulatorServer.SimulatorServer
      yield* server.script(statuses.map(([status, type]) => ({ _tag: "Error", status, type, message: `boom ${status}` })))
      for (const [status, , tag] of statuses) {
        const error = yield* Effect.flip(lm.create(twoBreakpoints("a")))
        expect(error._tag).toBe(tag)
        expect(error.message).toContain(`boom ${status}`)
        expect("requestId" in error && error.requestId).toMatch(/^req_srv_/)
        expect(error.message).not.toContain(API_KEY)
      }
    }).pipe(Effect.provide(stack())))

  it.live("an error event inside an SSE stream after a 200 is typed", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const server = yield* SimulatorServer.SimulatorServer
      yield* server.script([{ _tag: "StreamError", type: "overloaded_error", message: "Overloaded" }])
      const tags: Array<string> = []
      const error = yield* Effect.flip(
        lm.stream(twoBreakpoints("a")).pipe(Stream.runForEach((e) => Effect.sync(() => tags.push(e._tag))))
      )
      expect(tags).toEqual(["Begun"])
      expect(error._tag).toBe("Overloaded")
    }).pipe(Effect.provide(stack())))

  it.live("retry-after alone is seconds, retry-after-ms alone milliseconds", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const server = yield* SimulatorServer.SimulatorServer
      yield* server.script([
        { _tag: "Error", status: 429, type: "rate_limit_error", retryAfterSeconds: 7 },
        { _tag: "Error", status: 429, type: "rate_limit_error", retryAfterMs: 250 },
        { _tag: "Error", status: 529, type: "overloaded_error", retryAfterSeconds: 2, retryAfterMs: 1500 }
      ])
      const after = () => Effect.map(Effect.flip(lm.create(twoBreakpoints("a"))), (e) => (e as { retryAfterMs?: number }).retryAfterMs)
      expect(yield* after()).toBe(7_000)
      expect(yield* after()).toBe(250)
      // both: the more precise one
      expect(yield* after()).toBe(1_500)
    }).pipe(Effect.provide(stack())))

  it.live("retry-after is honoured: the retry is not sent earlier", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const server = yield* SimulatorServer.SimulatorServer
      yield* server.script([{ _tag: "Error", status: 429, type: "rate_limit_error", retryAfterMs: 400 }, {
        _tag: "Error",
        status: 529,
        type: "overloaded_error",
        retryAfterSeconds: 1
      }])
      const retried: Array<string> = []
      const response = yield* RetryPolicy.retry(
        lm.create(twoBreakpoints("a")),
        RetryPolicy.exponentialBackoff({ baseDelayMs: 10, jitter: false }),
        (e) => Effect.sync(() => void retried.push(e._tag))
      )
      expect(response.usage.cacheCreation1h).toBe(2000)
      expect(retried).toEqual(["RateLimited", "Overloaded"])
      const received = yield* server.received
      expect(received).toHaveLength(3)
      expect(received[1]!.receivedAt - received[0]!.receivedAt).toBeGreaterThanOrEqual(400)
      expect(received[2]!.receivedAt - received[1]!.receivedAt).toBeGreaterThanOrEqual(1000)
    }).pipe(Effect.provide(stack())))

  it.live("non-retryable errors are not retried", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const server = yield* SimulatorServer.SimulatorServer
      yield* server.script([{ _tag: "Error", status: 400, type: "invalid_request_error" }])
      const error = yield* Effect.flip(
        RetryPolicy.retry(lm.create(twoBreakpoints("a")), RetryPolicy.exponentialBackoff({ baseDelayMs: 1 }))
      )
      expect(error._tag).toBe("InvalidRequest")
      expect(yield* server.received).toHaveLength(1)
    }).pipe(Effect.provide(stack())))

  it.live("a connection reset mid-stream is a ConnectionError, and it is retried", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const server = yield* SimulatorServer.SimulatorServer
      yield* server.script([{ _tag: "Reset" }])
      const tags: Array<string> = []
      const error = yield* Effect.flip(
        lm.stream(twoBreakpoints("a")).pipe(Stream.runForEach((e) => Effect.sync(() => tags.push(e._tag))))
      )
      expect(tags).toEqual(["Begun"])
      expect(error._tag).toBe("ConnectionError")
      yield* server.script([{ _tag: "Reset" }])
      const response = yield* RetryPolicy.retry(
        streamToResponse(lm.stream(twoBreakpoints("b")), () => Effect.void),
        RetryPolicy.exponentialBackoff({ baseDelayMs: 5 })
      )
      // the reset request had begun, so its cache write stands and the retry reads it
      expect(response.usage.cacheRead).toBe(3503)
      yield* server.script([{ _tag: "Reset" }])
      expect((yield* Effect.flip(lm.create(twoBreakpoints("c"))))._tag).toBe("ConnectionError")
    }).pipe(Effect.provide(stack({ latency: { ...SimulatedProvider.zeroLatency, outputMsPerToken: 5 } }))))

  it.live("a stream that stalls after message_start fails with a Timeout instead of hanging", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      yield* server.script([{ _tag: "Stall" }])
      const lm = yield* anthropicModel({ apiKey: API_KEY, baseURL: server.url, streamIdleTimeoutMs: 300 })
      const tags: Array<string> = []
      const started = Date.now()
      const error = yield* Effect.flip(
        lm.stream(twoBreakpoints("a")).pipe(Stream.runForEach((e) => Effect.sync(() => void tags.push(e._tag))))
      )
      expect(tags).toEqual(["Begun"])
      expect(error._tag).toBe("Timeout")
      // not before the idle timeout; that it does not hang is bounded by the test's own timeout
      expect(Date.now() - started).toBeGreaterThanOrEqual(300)
    }).pipe(Effect.provide(stack())))

  it.live("interruption cancels the in-flight HTTP request", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const sim = yield* SimulatedProvider.Simulator
      const fiber = yield* Effect.fork(lm.create(sharedPrefixRequest(2000, "slow")))
      // ready: the request is in flight on the server (its call takes 5 s)
      yield* until(Effect.map(sim.calls, (calls) => calls.length === 1))
      yield* Fiber.interrupt(fiber)
      // the server sees the client go away and interrupts the simulated call
      yield* until(Effect.map(sim.calls, (calls) => calls[0]!.outcome !== "pending"))
      const calls = yield* sim.calls
      expect(calls).toHaveLength(1)
      expect(calls[0]!.outcome).toBe("interrupted")
    }).pipe(Effect.provide(stack({ latency: { ...SimulatedProvider.zeroLatency, baseMs: 5_000 } }))))

  it.live("a refused connection is a ConnectionError", () =>
    Effect.gen(function*() {
      const lm = yield* anthropicModel({ apiKey: API_KEY, baseURL: "http://127.0.0.1:9", timeoutMs: 2000 })
      const error = yield* Effect.flip(lm.create(twoBreakpoints("a")))
      expect(error._tag).toBe("ConnectionError")
      expect(error.message).not.toContain(API_KEY)
    }))

  it.live("a wrong key is a 401 AuthenticationError; a missing key fails at layer build, before any request", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      const wrong = yield* anthropicModel({ apiKey: "sk-wrong", baseURL: server.url })
      const error = yield* Effect.flip(wrong.create(twoBreakpoints("a")))
      expect(error._tag).toBe("AuthenticationError")
      const missing = yield* Effect.flip(
        Layer.build(AnthropicProvider.layer({ apiKey: Redacted.make("  "), baseURL: server.url })).pipe(Effect.scoped)
      )
      expect(missing._tag).toBe("AuthenticationError")
      expect(missing.message).toContain("ANTHROPIC_API_KEY")
      expect(yield* server.received).toHaveLength(1)
      // the key never appears in a rendered error, its JSON or a redacted config value
      const rendered = [String(error), JSON.stringify(error), String(Redacted.make(API_KEY))].join("\n")
      expect(rendered).not.toContain(API_KEY)
    }).pipe(Effect.provide(stack())))

  it.live("a request the SDK itself refuses (non-streaming, too long to wait for) is an InvalidPrompt, never sent, never retried", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      const lm = yield* anthropicModel({ apiKey: API_KEY, baseURL: server.url })
      // within the model's limit (64,000), but the SDK will not wait that long without streaming
      const error = yield* Effect.flip(lm.create({ ...twoBreakpoints("long"), max_tokens: 50_000 }))
      expect(error._tag).toBe("InvalidPrompt")
      expect(error).toMatchObject({ rule: "client_refused" })
      expect(error.message).toContain("the SDK refused to send it")
      expect(isRetryable(error)).toBe(false)
      expect(yield* server.received).toHaveLength(0)
    }).pipe(Effect.provide(stack())))

  it.live("count_tokens through the SDK", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      const sim = yield* SimulatedProvider.Simulator
      const counter = yield* TokenCounter.pipe(
        Effect.provide(AnthropicProvider.layer({ apiKey: API_KEY, baseURL: server.url }))
      )
      const request = twoBreakpoints("a")
      expect(yield* counter.countRequest(request)).toBe(sim.countTokens(request))
    }).pipe(Effect.provide(stack())))

  it.live("contract: in-process and SDK → HTTP → simulator give the same usage, call by call", () =>
    Effect.gen(function*() {
      const scenario = [
        twoBreakpoints("warm", { max_tokens: 0 }),
        twoBreakpoints("q1"),
        twoBreakpoints("q2"),
        sharedPrefixRequest(900, "small"),
        sharedPrefixRequest(5000, "big", { ttl: "1h" }),
        sharedPrefixRequest(5000, "big again", { ttl: "1h" }),
        { ...twoBreakpoints("auto"), cache_control: { type: "ephemeral" as const } }
      ]
      const run = Effect.gen(function*() {
        const lm = yield* LanguageModel
        return yield* Effect.forEach(scenario, (r) => Effect.map(lm.create(r), (x) => x.usage))
      })
      const inProcess = yield* run.pipe(Effect.provide(SimulatedProvider.layer({ latency: SimulatedProvider.zeroLatency })))
      const overHttp = yield* run.pipe(Effect.provide(stack()))
      expect(overHttp).toEqual(inProcess)
      expect(inProcess[1]!.cacheRead).toBe(3503)
    }))
})

describe("AnthropicProvider over an AnthropicClient", () => {
  /** a client that records every body it is given: what is sent is the thing under test */
  const capturing = (sent: Array<{ readonly call: string; readonly body: Record<string, unknown> }>) =>
    Layer.succeed(
      AnthropicClient.AnthropicClient,
      AnthropicClient.AnthropicClient.of({
        sdk: undefined as never,
        options: { apiKey: "unused" },
        platform: "anthropic",
        cacheScope: "",
        createMessage: (body) =>
          Effect.sync(() => {
            sent.push({ call: "create", body })
            return {
              data: { id: "msg_1", model: MODEL, content: [], stop_reason: "end_turn", usage: { input_tokens: 3, output_tokens: 1 } },
              requestId: "req_1"
            }
          }),
        streamMessage: () => Effect.die("not used by this test"),
        countTokens: (body) => Effect.sync(() => (sent.push({ call: "count", body }), 42))
      })
    )

  it.effect("the LanguageModel and the TokenCounter go through the one client in context", () =>
    Effect.gen(function*() {
      const sent: Array<{ readonly call: string; readonly body: Record<string, unknown> }> = []
      const layer = Layer.merge(AnthropicProvider.layerModel, AnthropicProvider.layerTokenCounter).pipe(
        Layer.provide(capturing(sent))
      )
      const { lm, counter } = yield* Effect.all({ lm: LanguageModel, counter: TokenCounter }).pipe(Effect.provide(layer))
      const request = { ...sharedPrefixRequest(2000, "q"), temperature: 0.2 }
      const response = yield* lm.create(request)
      expect(response).toMatchObject({ id: "msg_1", requestId: "req_1", usage: { input: 3, output: 1 } })
      expect(yield* counter.countRequest(request)).toBe(42)
      expect(sent.map((s) => s.call)).toEqual(["create", "count"])
      // count_tokens takes no generation fields
      expect(sent[0]!.body).toMatchObject({ max_tokens: request.max_tokens, temperature: 0.2 })
      expect(sent[1]!.body).not.toHaveProperty("max_tokens")
      expect(sent[1]!.body).not.toHaveProperty("temperature")
    }))
})
