/**
 * The OpenAI wing over real HTTP: the official `openai` SDK against `serve`'s `/v1/chat/completions`
 * (JSON and SSE), the library's OpenAIProvider on top of it (usage, errors, retries, the warmer's
 * single flight), and the contract that in-process and SDK → HTTP → simulator give the same usage.
 */
import { describe, expect, it } from "@effect/vitest"
import OpenAI from "openai"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as CacheMetrics from "../../src/CacheMetrics.js"
import * as CacheWarmer from "../../src/CacheWarmer.js"
import { LanguageModel, streamToResponse } from "../../src/LanguageModel.js"
import * as OpenAIProvider from "../../src/openai/OpenAIProvider.js"
import * as Pricing from "../../src/Pricing.js"
import type { MessagesRequest } from "../../src/Prompt.js"
import { isRetryable } from "../../src/ProviderError.js"
import * as RetryPolicy from "../../src/RetryPolicy.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"
import * as WarmRegistry from "../../src/WarmRegistry.js"
import { textOfTokens } from "../fixtures.js"
import { toolConversation } from "./fixtures.js"

const API_KEY = "sk-proj-test-0123456789-very-secret"
const GPT56 = "gpt-5.6-terra"
const GPT41 = "gpt-4.1"

const stack = (sim: SimulatedProvider.SimulatorConfig = { latency: SimulatedProvider.zeroLatency }, provider: OpenAIProvider.ProviderOptions = {}) => {
  const server = SimulatorServer.layer({ apiKey: API_KEY }).pipe(Layer.provideMerge(SimulatedProvider.layer(sim)))
  const client = Layer.unwrapEffect(
    Effect.map(SimulatorServer.SimulatorServer, (s) =>
      OpenAIProvider.layer({ apiKey: Redacted.make(API_KEY), baseURL: `${s.url}/v1`, timeoutMs: 10_000, ...provider }))
  )
  const inspect = Layer.effectContext(
    Effect.map(
      Effect.context<SimulatorServer.SimulatorServer | SimulatedProvider.Simulator>(),
      Context.pick(SimulatorServer.SimulatorServer, SimulatedProvider.Simulator)
    )
  )
  return Layer.merge(client, inspect).pipe(Layer.provide(server))
}

const sdk = Effect.map(SimulatorServer.SimulatorServer, (s) => new OpenAI({ apiKey: API_KEY, baseURL: `${s.url}/v1`, maxRetries: 0 }))

/** a shared system prompt with a breakpoint, and a question of its own */
const shared = (model: string, question: string, systemTokens = 5000): MessagesRequest => ({
  model,
  max_tokens: 50,
  system: [{ type: "text", text: textOfTokens(systemTokens), cache_control: { type: "ephemeral" } }],
  messages: [{ role: "user", content: question }]
})

describe("the official openai SDK against serve", () => {
  it.layer(stack())("Chat Completions", (it) => {
    it.effect("JSON: usage with cached_tokens and, on GPT-5.6, cache_write_tokens; a wrong key is a 401", () =>
      Effect.gen(function*() {
        const client = yield* sdk
        const ask = (q: string) =>
          Effect.promise(() =>
            client.chat.completions.create({
              model: GPT56,
              max_completion_tokens: 20,
              messages: [
                { role: "developer", content: [{ type: "text", text: textOfTokens(3000, "s"), prompt_cache_breakpoint: { mode: "explicit" } }] },
                { role: "user", content: q }
              ]
            })
          )
        const first = yield* ask("first")
        expect(first.object).toBe("chat.completion")
        expect(first.choices[0]!.message.content!.length).toBeGreaterThan(0)
        expect(first.usage!.prompt_tokens_details!.cache_write_tokens).toBeGreaterThan(3000)
        expect(first.usage!.prompt_tokens_details!.cached_tokens).toBe(0)
        const second = yield* ask("second")
        // the second reads the explicit breakpoint the first wrote, and writes its own tail
        expect(second.usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThanOrEqual(3000)
        expect(second.usage!.prompt_tokens).toBe(first.usage!.prompt_tokens)
        const wrong = yield* Effect.promise(() =>
          new OpenAI({ apiKey: "wrong", baseURL: client.baseURL, maxRetries: 0 }).chat.completions
            .create({ model: GPT56, messages: [{ role: "user", content: "hi" }] })
            .then(() => undefined, (e: unknown) => e)
        )
        expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError)
        const models = yield* Effect.promise(() => client.models.list())
        expect(models.data.map((m) => m.id)).toContain(GPT56)
      }))

    it.effect("SSE: a role chunk, several content chunks, the finish reason, then usage", () =>
      Effect.gen(function*() {
        const client = yield* sdk
        const chunks = yield* Effect.promise(async () => {
          const stream = await client.chat.completions.create({
            model: GPT41,
            max_completion_tokens: 60,
            stream: true,
            stream_options: { include_usage: true },
            messages: [{ role: "user", content: "Stream, please." }]
          })
          const out: Array<OpenAI.ChatCompletionChunk> = []
          for await (const c of stream) out.push(c)
          return out
        })
        expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant")
        expect(chunks.filter((c) => (c.choices[0]?.delta.content ?? "") !== "").length).toBeGreaterThan(1)
        expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe("length")
        expect(chunks.at(-1)!.choices).toEqual([])
        expect(chunks.at(-1)!.usage!.completion_tokens).toBe(60)
      }))

    it.effect("tool calls: a forced tool is called with arguments that fit its schema", () =>
      Effect.gen(function*() {
        const client = yield* sdk
        const done = yield* Effect.promise(() =>
          client.chat.completions.create({
            model: GPT41,
            messages: [{ role: "user", content: "weather?" }],
            tools: [{
              type: "function",
              function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string", minLength: 2 } }, required: ["city"] } }
            }],
            tool_choice: "required"
          })
        )
        const call = done.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall
        expect(done.choices[0]!.finish_reason).toBe("tool_calls")
        expect(call.function.name).toBe("get_weather")
        expect(JSON.parse(call.function.arguments)).toEqual({ city: "xx" })
      }))
  })
})

describe("the official openai SDK against serve's Responses API", () => {
  it.layer(stack())("/v1/responses", (it) => {
    it.effect("JSON: output text and usage with cached_tokens (the same cache as Chat Completions); streams in order to response.completed", () =>
      Effect.gen(function*() {
        const client = yield* sdk
        const ask = (q: string) =>
          Effect.promise(() => client.responses.create({ model: GPT41, max_output_tokens: 20, instructions: textOfTokens(3000, "r"), input: q }))
        const first = yield* ask("first")
        expect(first.object).toBe("response")
        expect(first.status).toBe("incomplete")
        expect(first.output_text.length).toBeGreaterThan(0)
        expect(first.usage!.input_tokens_details.cached_tokens).toBe(0)
        const second = yield* ask("second")
        // automatic caching: the second reads the instructions the first wrote, in 128-token steps
        expect(second.usage!.input_tokens_details.cached_tokens).toBeGreaterThanOrEqual(2944)
        expect(second.usage!.input_tokens).toBe(first.usage!.input_tokens)
        const events = yield* Effect.promise(async () => {
          const stream = await client.responses.create({ model: GPT41, max_output_tokens: 30, input: "Stream, please.", stream: true })
          const out: Array<OpenAI.Responses.ResponseStreamEvent> = []
          for await (const e of stream) out.push(e)
          return out
        })
        const types = events.map((e) => e.type)
        expect(types.slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"])
        expect(types.filter((t) => t === "response.output_text.delta").length).toBeGreaterThan(1)
        expect(types.at(-1)).toBe("response.incomplete")
        expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
        const deltas = events.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : [])).join("")
        const done = events.find((e) => e.type === "response.output_text.done")
        expect(done?.type === "response.output_text.done" ? done.text : undefined).toBe(deltas)
      }))

    it.effect("a function call comes back as a function_call item; what the simulator does not do is a 400 naming the field", () =>
      Effect.gen(function*() {
        const client = yield* sdk
        const called = yield* Effect.promise(() =>
          client.responses.create({
            model: GPT41,
            input: "What is the weather in Paris?",
            tools: [{ type: "function", name: "weather", strict: true, parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false } }],
            tool_choice: { type: "function", name: "weather" }
          })
        )
        const call = called.output.find((o) => o.type === "function_call")
        expect(call?.type === "function_call" ? call.name : undefined).toBe("weather")
        const refused = yield* Effect.promise(() =>
          client.responses.create({ model: GPT41, input: "hi", previous_response_id: "resp_1" }).then(() => undefined, (e: unknown) => e)
        )
        expect(refused).toBeInstanceOf(OpenAI.BadRequestError)
        expect(String((refused as Error).message)).toContain("previous_response_id")
      }))
  })
})

describe("OpenAIProvider over the SDK, against serve", () => {
  it.live("maps usage: reads, writes (GPT-5.6), plain input and output; the key never leaves as text", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const a = yield* lm.create(shared(GPT56, "a"))
      const b = yield* lm.create(shared(GPT56, "b"))
      expect(a.usage.cacheCreation5m).toBeGreaterThan(5000)
      expect(a.usage.cacheRead).toBe(0)
      expect(b.usage.cacheRead).toBeGreaterThanOrEqual(5000)
      expect(b.usage.cacheRead).toBeLessThan(a.usage.cacheCreation5m)
      expect(b.usage.output).toBe(50)
      const server = yield* SimulatorServer.SimulatorServer
      const received = yield* server.received
      const body = received[0]!.body as Record<string, unknown>
      expect(body.max_completion_tokens).toBe(50)
      expect(body.max_tokens).toBeUndefined()
      expect(String(body.prompt_cache_key)).toMatch(/^epc-[0-9a-f]{24}$/)
      expect(received[0]!.apiKeySha256).toBe(SimulatorServer.keyDigest(API_KEY))
      expect(JSON.stringify(received)).not.toContain(API_KEY)
    }).pipe(Effect.provide(stack())))

  it.live("before GPT-5.6: breakpoints dropped, no writes reported, reads in 128-token steps", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      yield* lm.create(shared(GPT41, "a"))
      const b = yield* lm.create(shared(GPT41, "b"))
      expect(b.usage.cacheCreation5m).toBe(0)
      expect(b.usage.cacheRead).toBeGreaterThan(4000)
      expect((b.usage.cacheRead - 1024) % 128).toBe(0)
      const server = yield* SimulatorServer.SimulatorServer
      expect(JSON.stringify((yield* server.received)[0]!.body)).not.toContain("prompt_cache_breakpoint")
    }).pipe(Effect.provide(stack())))

  it.live("stream: Begun at the first chunk (usage unknown then), the usage with Completed", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const begun: Array<unknown> = []
      const response = yield* streamToResponse(lm.stream(shared(GPT56, "s")), (u) => Effect.sync(() => void begun.push(u)))
      expect(begun).toEqual([undefined])
      expect(response.usage.cacheCreation5m).toBeGreaterThan(5000)
      expect(response.content[0]!.type).toBe("text")
    }).pipe(Effect.provide(stack({ latency: { ...SimulatedProvider.zeroLatency, outputMsPerToken: 2 } }))))

  it.live("a warm call (max_tokens 0) goes out with one output token, and its usage says so", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const warm = yield* lm.create({ ...shared(GPT56, "w"), max_tokens: 0 })
      expect(warm.usage.output).toBe(1)
      const server = yield* SimulatorServer.SimulatorServer
      expect(((yield* server.received)[0]!.body as { max_completion_tokens: number }).max_completion_tokens).toBe(1)
    }).pipe(Effect.provide(stack())))

  it.live("each status maps to its typed error, OpenAI's way (503 overloaded, 429 quota is billing)", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const server = yield* SimulatorServer.SimulatorServer
      const cases: ReadonlyArray<readonly [number, string, string]> = [
        [400, "invalid_request_error", "InvalidRequest"],
        [401, "invalid_request_error", "AuthenticationError"],
        [404, "invalid_request_error", "NotFound"],
        [429, "requests", "RateLimited"],
        [500, "server_error", "ServerError"],
        [503, "server_error", "Overloaded"]
      ]
      for (const [status, type, tag] of cases) {
        yield* server.script([{ _tag: "Error", status, type, message: `scripted ${status}` }])
        const error = yield* Effect.flip(lm.create(shared(GPT41, "e")))
        expect(error._tag).toBe(tag)
        expect(error.detail).toBe(`scripted ${status}`)
        expect(isRetryable(error)).toBe(status === 429 || status >= 500)
      }
      yield* server.script([{ _tag: "Reset" }])
      expect((yield* Effect.flip(lm.create(shared(GPT41, "r"))))._tag).toBe("ConnectionError")
    }).pipe(Effect.provide(stack())))

  it.live("retry-after is honoured: the retry is not sent earlier", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      const lm = yield* LanguageModel
      yield* server.script([{ _tag: "Error", status: 429, type: "requests", retryAfterMs: 300 }])
      const response = yield* RetryPolicy.retry(lm.create(shared(GPT41, "x")), RetryPolicy.exponentialBackoff({ baseDelayMs: 1 }))
      expect(response.usage.output).toBe(50)
      const [first, second] = yield* server.received
      expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(300)
    }).pipe(Effect.provide(stack())))

  it.live("a mid-stream reset is a ConnectionError", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      const lm = yield* LanguageModel
      yield* server.script([{ _tag: "Reset" }])
      const error = yield* Effect.flip(streamToResponse(lm.stream(shared(GPT41, "r")), () => Effect.void))
      expect(error._tag).toBe("ConnectionError")
    }).pipe(Effect.provide(stack())))

  it.live("a missing key fails at layer build, naming the variable, before any request", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(OpenAIProvider.layer({ apiKey: "" })).pipe(Effect.scoped))
      expect(error._tag).toBe("AuthenticationError")
      expect(error.detail).toContain("OPENAI_API_KEY")
    }))

  it.live("a block OpenAI cannot carry is a typed InvalidPrompt naming where it is; nothing is sent", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const error = yield* Effect.flip(lm.create({
        ...shared(GPT41, "q"),
        messages: [{ role: "user", content: [{ type: "search_result", source: "x", title: "t", content: [] }] }]
      }))
      expect(error).toMatchObject({ _tag: "InvalidPrompt", rule: "not_expressible", path: "messages[0].content[0]" })
      const server = yield* SimulatorServer.SimulatorServer
      expect(yield* server.received).toEqual([])
    }).pipe(Effect.provide(stack())))

  /** a cold burst of 5 over one prefix, through the warmer, against serve in real time */
  const burst = (policy: CacheWarmer.Policy) =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const result = yield* warmer.fanOut({
        shared: shared(GPT56, "shared"),
        requests: ["a", "b", "c", "d", "e"].map((q) => shared(GPT56, q))
      })
      const usages = result.responses.map((r) => (r._tag === "Right" ? r.right.usage : undefined))
      return {
        writesOfShared: usages.filter((u) => u !== undefined && u.cacheRead === 0 && u.cacheCreation5m > 0).length,
        reads: usages.filter((u) => u !== undefined && u.cacheRead > 0).length
      }
    }).pipe(
      Effect.provide(
        CacheWarmer.layer({ policy }).pipe(
          Layer.provideMerge(Layer.mergeAll(CacheMetrics.layer, WarmRegistry.layerMemory())),
          Layer.provideMerge(Pricing.layerDefault),
          Layer.provideMerge(stack({ latency: { ...SimulatedProvider.zeroLatency, baseMs: 400 } }))
        )
      )
    )

  it.live("a cold burst of 5: one write and 4 reads with auto; 5 writes with off", () =>
    Effect.gen(function*() {
      expect(yield* burst("auto")).toEqual({ writesOfShared: 1, reads: 4 })
      expect(yield* burst("off")).toEqual({ writesOfShared: 5, reads: 0 })
    }), 30_000)

  it.live("contract: in-process and SDK → HTTP → simulator give the same usage, call by call", () =>
    Effect.gen(function*() {
      const conversation = toolConversation({
        model: GPT56,
        system: shared(GPT56, "go").system,
        results: [textOfTokens(800, "a"), textOfTokens(700, "b")],
        marked: true
      })
      const scenario: ReadonlyArray<MessagesRequest> = [
        { ...shared(GPT56, "warm"), max_tokens: 0 },
        shared(GPT56, "q1"),
        shared(GPT56, "q2"),
        conversation,
        conversation,
        shared(GPT41, "old 1"),
        shared(GPT41, "old 2"),
        shared("gpt-4o", "small", 500)
      ]
      const run = Effect.gen(function*() {
        const lm = yield* LanguageModel
        return yield* Effect.forEach(scenario, (r) => Effect.map(lm.create(r), (x) => x.usage))
      })
      const inProcess = yield* run.pipe(Effect.provide(SimulatedProvider.layer({ latency: SimulatedProvider.zeroLatency })))
      const overHttp = yield* run.pipe(Effect.provide(stack()))
      expect(overHttp).toEqual(inProcess)
      // the conversation's second send reads up to the tool result's breakpoint, or further
      expect(inProcess[4]!.cacheRead).toBeGreaterThan(inProcess[3]!.cacheRead)
      expect(inProcess[7]!.cacheRead + inProcess[7]!.cacheCreation5m).toBe(0)
    }))
})
