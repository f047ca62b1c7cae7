/**
 * An app written only against `@effect/ai` (`LanguageModel.generateText`), with `@effect/ai-anthropic`'s
 * layer pointed at `serve` over real HTTP: without the decorator every concurrent call writes the
 * shared system prompt; with it, one writes and the rest read — and CacheMetrics agrees with the
 * server's own usage.
 */
import * as AiLanguageModel from "@effect/ai/LanguageModel"
import * as AnthropicClient from "@effect/ai-anthropic/AnthropicClient"
import * as AnthropicLanguageModel from "@effect/ai-anthropic/AnthropicLanguageModel"
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, layer } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as CacheMetrics from "../../src/CacheMetrics.js"
import { WarmingLanguageModel } from "../../src/effect-ai/index.js"
import * as Pricing from "../../src/Pricing.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"
import * as WarmRegistry from "../../src/WarmRegistry.js"

const MODEL = "claude-sonnet-4-6"
// about 4,600 tokens: above Sonnet 4.6's minimum cacheable prefix (2,048)
const SYSTEM = "You are a terse assistant who answers in one short sentence. ".repeat(300)

/**
 * `serve` with a latency that makes concurrency matter: a write is readable 300 ms after it starts,
 * and its answer (100 tokens at 2 ms each) streams for 200 ms more
 */
const Serve = SimulatorServer.layer().pipe(
  Layer.provideMerge(SimulatedProvider.layer({
    latency: { ...SimulatedProvider.zeroLatency, baseMs: 300, outputMsPerToken: 2 },
    outputTokens: () => 100
  }))
)

/** `@effect/ai-anthropic` at the server in context, as an app would configure it */
const Anthropic = Layer.unwrapEffect(Effect.map(SimulatorServer.SimulatorServer, (server) =>
  AnthropicLanguageModel.layer({ model: MODEL }).pipe(
    Layer.provide(AnthropicClient.layer({ apiKey: Redacted.make("sk-ant-effect-ai-test"), apiUrl: server.url })),
    Layer.provide(FetchHttpClient.layer)
  )))

/** `@effect/ai-openai` (OpenAI's Responses API) at the server in context */
const OpenAi = (model: string) =>
  Layer.unwrapEffect(Effect.map(SimulatorServer.SimulatorServer, (server) =>
    OpenAiLanguageModel.layer({ model }).pipe(
      Layer.provide(OpenAiClient.layer({ apiKey: Redacted.make("sk-openai-effect-ai-test"), apiUrl: `${server.url}/v1` })),
      Layer.provide(FetchHttpClient.layer)
    )))

/**
 * the app: five concurrent calls over one system prompt, each its own question; `marked`: the app
 * asks to cache its system prompt itself (`@effect/ai-anthropic`'s cache control option)
 */
const app = (tag: string, marked: boolean) =>
  Effect.forEach(
    [1, 2, 3, 4, 5],
    (i) =>
      AiLanguageModel.generateText({
        prompt: [
          marked
            ? { role: "system", content: `${tag} ${SYSTEM}`, options: { anthropic: { cacheControl: { type: "ephemeral" } } } }
            : { role: "system", content: `${tag} ${SYSTEM}` },
          { role: "user", content: [{ type: "text", text: `question ${i}` }] }
        ]
      }),
    { concurrency: "unbounded" }
  )

/**
 * the server's calls since `from`: how many wrote the system prompt (a write of 1,000 tokens or more:
 * a breakpoint the decorator places at the end of a prompt writes that request's own few tokens
 * after the shared prefix, for its next turn), how many read, and their token sums
 */
const serverSide = (from: number) =>
  Effect.map(Effect.flatMap(SimulatedProvider.Simulator, (s) => s.calls), (calls) => {
    const mine = calls.slice(from)
    return {
      writes: mine.filter((c) => (c.usage?.cacheCreation5m ?? 0) + (c.usage?.cacheCreation1h ?? 0) >= 1_000).length,
      reads: mine.filter((c) => (c.usage?.cacheRead ?? 0) > 0).length,
      written: mine.reduce((n, c) => n + (c.usage?.cacheCreation5m ?? 0) + (c.usage?.cacheCreation1h ?? 0), 0),
      read: mine.reduce((n, c) => n + (c.usage?.cacheRead ?? 0), 0),
      input: mine.reduce((n, c) => n + (c.usage?.input ?? 0), 0)
    }
  })

/** the same five calls as streams, each read to its end: its text and its parts' types in order */
const streamingApp = (tag: string) =>
  Effect.forEach(
    [1, 2, 3, 4, 5],
    (i) =>
      AiLanguageModel.streamText({
        prompt: [
          { role: "system", content: `${tag} ${SYSTEM}`, options: { anthropic: { cacheControl: { type: "ephemeral" } } } },
          { role: "user", content: [{ type: "text", text: `question ${i}` }] }
        ]
      }).pipe(
        Stream.runCollect,
        Effect.map((parts) => {
          const all = Chunk.toReadonlyArray(parts)
          return {
            text: all.map((p) => (p.type === "text-delta" ? p.delta : "")).join(""),
            types: all.map((p) => p.type)
          }
        })
      ),
    { concurrency: "unbounded" }
  )

/** the decorator over the app's `LanguageModel` in context, with `metrics` */
const decorated = (metrics: CacheMetrics.CacheMetricsService, modelId = MODEL) =>
  Layer.unwrapEffect(Effect.map(AiLanguageModel.LanguageModel, (model) =>
    WarmingLanguageModel.layer({ model: modelId }).pipe(
      Layer.provide(Layer.succeedContext(Context.make(AiLanguageModel.LanguageModel, model))),
      Layer.provide(Layer.mergeAll(Layer.succeedContext(Context.make(CacheMetrics.CacheMetrics, metrics)), WarmRegistry.layerMemory())),
      Layer.provideMerge(Pricing.layerDefault)
    )))

/** the server's calls since `from`, in arrival order */
const since = (from: number) => Effect.map(Effect.flatMap(SimulatedProvider.Simulator, (s) => s.calls), (calls) => calls.slice(from))

const callCount = Effect.map(Effect.flatMap(SimulatedProvider.Simulator, (s) => s.calls), (calls) => calls.length)

describe("@effect/ai under the warming decorator", () => {
  layer(Layer.provideMerge(Anthropic, Serve), { excludeTestServices: true })("against serve", (it) => {
    it.effect("without the decorator: 5 concurrent generateText calls each write the system prompt they mark", () =>
      Effect.gen(function*() {
        const from = yield* callCount
        const responses = yield* app("plain", true)
        expect(responses.every((r) => r.text.length > 0)).toBe(true)
        const server = yield* serverSide(from)
        expect({ writes: server.writes, reads: server.reads }).toEqual({ writes: 5, reads: 0 })
      }))

    it.effect.each([
      ["marks its system prompt", true],
      ["marks nothing: the decorator places the breakpoints", false]
    ] as const)("with the decorator, an app that %s: 1 write and 4 reads, and CacheMetrics agrees with the server's usage", ([, marked]) =>
      Effect.gen(function*() {
        const from = yield* callCount
        const metrics = yield* CacheMetrics.CacheMetrics
        const responses = yield* app(`warmed-${marked}`, marked).pipe(Effect.provide(decorated(metrics)))
        expect(responses.every((r) => r.text.length > 0)).toBe(true)
        // the app's types and results are @effect/ai's own — the leader's too, assembled from its stream
        for (const r of responses) {
          expect(r).toBeInstanceOf(AiLanguageModel.GenerateTextResponse)
          expect(r.finishReason).not.toBe("unknown")
          expect(r.usage.outputTokens).toBeGreaterThan(0)
          expect(r.content.filter((p) => p.type === "text")).toHaveLength(1)
        }
        const server = yield* serverSide(from)
        expect({ writes: server.writes, reads: server.reads }).toEqual({ writes: 1, reads: 4 })
        const snapshot = yield* metrics.snapshot
        expect(snapshot.calls.request.count).toBe(5)
        expect(snapshot.calls.request.cacheCreationInputTokens).toBe(server.written)
        expect(snapshot.calls.request.cacheReadInputTokens).toBe(server.read)
        expect(snapshot.calls.request.inputTokens).toBe(server.input)
        expect(snapshot.gates).toMatchObject({ led: 1, waited: 4 })
        // the leader ran on the streaming path underneath: its waiters went when its answer began,
        // before it ended; they, unwaited-for, ran as the app asked (JSON)
        const calls = yield* since(from)
        const leader = calls.find((c) => (c.usage?.cacheCreation5m ?? 0) >= 1_000)!
        const waiters = calls.filter((c) => c !== leader)
        expect(leader.streamed).toBe(true)
        expect(waiters.every((c) => !c.streamed && c.startedAt >= leader.begunAt! && c.startedAt < leader.completedAt!)).toBe(true)
      }).pipe(Effect.provide(CacheMetrics.layer.pipe(Layer.provide(Pricing.layerDefault)))))

    it.effect("streamText: 1 write and 4 reads, the waiters sent when the leader's stream began (before it ended), every stream whole and in order", () =>
      Effect.gen(function*() {
        const from = yield* callCount
        const metrics = yield* CacheMetrics.CacheMetrics
        const streams = yield* streamingApp("streamed").pipe(Effect.provide(decorated(metrics)))
        for (const s of streams) {
          expect(s.text.length).toBeGreaterThan(0)
          expect(s.types[0]).toBe("response-metadata")
          expect(s.types.at(-1)).toBe("finish")
        }
        const server = yield* serverSide(from)
        expect({ writes: server.writes, reads: server.reads }).toEqual({ writes: 1, reads: 4 })
        const calls = yield* since(from)
        const leader = calls.find((c) => (c.usage?.cacheCreation5m ?? 0) >= 1_000)!
        const waiters = calls.filter((c) => c !== leader)
        expect(waiters.every((c) => c.startedAt >= leader.begunAt! && c.startedAt < leader.completedAt!)).toBe(true)
        const snapshot = yield* metrics.snapshot
        expect(snapshot.calls.request.cacheCreationInputTokens).toBe(server.written)
        expect(snapshot.calls.request.cacheReadInputTokens).toBe(server.read)
      }).pipe(Effect.provide(CacheMetrics.layer.pipe(Layer.provide(Pricing.layerDefault)))))
  })

  layer(Layer.provideMerge(OpenAi("gpt-4.1"), Serve), { excludeTestServices: true })("@effect/ai-openai against serve's /v1/responses", (it) => {
    // gpt-4.1 caches automatically (no write billed apart): five cold requests at once read nothing;
    // through the gate, four read what the first wrote
    it.effect("without the decorator 5 concurrent calls read nothing; with it 4 read the system prompt, and CacheMetrics agrees", () =>
      Effect.gen(function*() {
        const before = yield* callCount
        const plain = yield* app("openai-plain", false)
        expect(plain.every((r) => r.text.length > 0)).toBe(true)
        expect((yield* serverSide(before)).reads).toBe(0)
        const from = yield* callCount
        const metrics = yield* CacheMetrics.CacheMetrics
        const responses = yield* app("openai-warmed", false).pipe(Effect.provide(decorated(metrics, "gpt-4.1")))
        expect(responses.every((r) => r.text.length > 0)).toBe(true)
        const server = yield* serverSide(from)
        expect(server.reads).toBe(4)
        const snapshot = yield* metrics.snapshot
        expect(snapshot.calls.request.cacheReadInputTokens).toBe(server.read)
        expect(snapshot.calls.request.inputTokens).toBe(server.input + server.written)
        // OpenAI's automatic caching bills no write apart: known, none
        expect(snapshot.calls.request.cacheWriteUnknownCalls).toBe(0)
        expect(snapshot.calls.request.costUsd).not.toBeNull()
        expect(snapshot.gates).toMatchObject({ led: 1, waited: 4 })
      }).pipe(Effect.provide(CacheMetrics.layer.pipe(Layer.provide(Pricing.layerDefault)))))

    it.effect("streamText through /v1/responses: every stream whole, 4 of 5 read", () =>
      Effect.gen(function*() {
        const from = yield* callCount
        const metrics = yield* CacheMetrics.CacheMetrics
        const streams = yield* streamingApp("openai-streamed").pipe(Effect.provide(decorated(metrics, "gpt-4.1")))
        for (const s of streams) {
          expect(s.text.length).toBeGreaterThan(0)
          expect(s.types.at(-1)).toBe("finish")
        }
        expect((yield* serverSide(from)).reads).toBe(4)
      }).pipe(Effect.provide(CacheMetrics.layer.pipe(Layer.provide(Pricing.layerDefault)))))
  })
})
