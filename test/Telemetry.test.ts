/**
 * The library's spans, caught by an in-memory tracer installed the way an app installs any Effect
 * tracer: a pipeline turn's tree (prune, plan, establish, each request with what the gate did, each
 * provider call with the GenAI attributes), the cache token attributes adding up to the turn's usage,
 * and no prompt text anywhere.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import * as Pipeline from "../src/Pipeline.js"
import type { MessagesRequest } from "../src/Prompt.js"
import * as SimulatedPipeline from "../src/simulator/SimulatedPipeline.js"
import { GenAi, PromptCache } from "../src/Telemetry.js"
import { MODEL, runClocked, textOfTokens } from "./fixtures.js"

/** a tracer that keeps every span it makes (Effect's own spans, so nothing else changes) */
const recording = Effect.map(Effect.tracer, (native) => {
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = native.span(name, parent, context, links, startTime, kind, options)
      spans.push(span)
      return span
    },
    context: native.context
  })
  return { spans, tracer }
})

const SECRET_TEXT = "the quarterly figures nobody may see"

const conversation: MessagesRequest = {
  model: MODEL,
  max_tokens: 100,
  system: [{ type: "text", text: textOfTokens(4000) }],
  messages: [{ role: "user", content: `Here: ${SECRET_TEXT}` }]
}

const parentOf = (span: Tracer.Span) => Option.getOrUndefined(span.parent) as Tracer.Span | undefined
const attr = (span: Tracer.Span, key: string) => span.attributes.get(key)

describe("Telemetry", () => {
  it.effect("a turn's span tree: prune, plan, establish, a request per prompt with its gate outcome, a chat call under each", () =>
    Effect.gen(function*() {
      const { spans, tracer } = yield* recording
      const pipeline = yield* Pipeline.Pipeline
      const turn = yield* runClocked(pipeline.turn({
        sessionId: "session-7",
        conversation,
        prompts: [{ prompt: "a" }, { prompt: "b" }, { prompt: "c" }]
      })).pipe(Effect.withTracer(tracer))
      expect(turn.responses.every(Either.isRight)).toBe(true)

      const root = spans.find((s) => s.name === "prompt_cache.turn")!
      expect(attr(root, GenAi.conversationId)).toBe("session-7")
      expect(attr(root, PromptCache.requests)).toBe(3)
      const children = (parent: Tracer.Span) => spans.filter((s) => parentOf(s) === parent)
      expect(children(root).map((s) => s.name).sort()).toEqual([
        "prompt_cache.establish",
        "prompt_cache.plan",
        "prompt_cache.prune",
        "prompt_cache.request",
        "prompt_cache.request",
        "prompt_cache.request"
      ])
      const requests = children(root).filter((s) => s.name === "prompt_cache.request")
      // one leads, the two others wait for it to begin, then read
      expect(requests.map((r) => attr(r, PromptCache.gate)).sort()).toEqual(["led", "waited", "waited"])
      for (const r of requests.filter((r) => attr(r, PromptCache.gate) === "waited")) {
        expect(attr(r, PromptCache.waitMs)).toBeGreaterThan(0)
      }
      const plan = children(root).find((s) => s.name === "prompt_cache.plan")!
      expect(attr(plan, PromptCache.sharedTokens)).toBe(turn.sharedTokens)

      // each request's provider call, named and tagged as the GenAI conventions say
      const calls = requests.flatMap(children)
      expect(calls).toHaveLength(3)
      for (const call of calls) {
        expect(call.name).toBe(`chat ${MODEL}`)
        expect(call.kind).toBe("client")
        expect(attr(call, GenAi.operationName)).toBe("chat")
        expect(attr(call, GenAi.providerName)).toBe("simulated")
        expect(attr(call, GenAi.requestModel)).toBe(MODEL)
        expect(attr(call, GenAi.requestMaxTokens)).toBe(100)
        expect(typeof attr(call, GenAi.responseId)).toBe("string")
        expect(attr(call, PromptCache.costUsd)).toBeGreaterThan(0)
      }
      // the leader's call streamed: its time to first byte is an event of its span
      const leaderCall = children(requests.find((r) => attr(r, PromptCache.gate) === "led")!)[0]!
      expect((leaderCall as unknown as { events: ReadonlyArray<readonly [string]> }).events.map((e) => e[0])).toContain("response_begun")

      // the cache token attributes add up to the turn's usage
      const usages = turn.responses.flatMap((r) => (Either.isRight(r) ? [r.right.usage] : []))
      const sum = (key: string) => calls.reduce((n, c) => n + Number(attr(c, key)), 0)
      expect(sum(GenAi.cacheReadInputTokens)).toBe(usages.reduce((n, u) => n + u.cacheRead, 0))
      expect(sum(GenAi.cacheCreationInputTokens)).toBe(usages.reduce((n, u) => n + u.cacheCreation5m + u.cacheCreation1h, 0))
      expect(sum(GenAi.outputTokens)).toBe(usages.reduce((n, u) => n + u.output, 0))
      expect(sum(GenAi.cacheReadInputTokens)).toBeGreaterThan(0)

      // why the leader wrote: the prefix had never been cached; the waiters read, and miss nothing
      expect(attr(leaderCall, PromptCache.missReason)).toBe("first_sight")
      expect(attr(leaderCall, PromptCache.missedTokens)).toBe(Number(attr(leaderCall, GenAi.cacheCreationInputTokens)))
      expect(calls.filter((c) => c !== leaderCall).map((c) => attr(c, PromptCache.missReason))).toEqual([undefined, undefined])

      // no prompt text in any span: names, attribute values
      const everything = JSON.stringify(spans.map((s) => [s.name, [...s.attributes.entries()]]))
      expect(everything).not.toContain(SECRET_TEXT)
      expect(everything).not.toContain(textOfTokens(4000).slice(0, 40))
    }).pipe(Effect.provide(SimulatedPipeline.layer({ pruner: false }))))

  it.effect("with warming off, the calls that raced the first writer say so on their spans", () =>
    Effect.gen(function*() {
      const { spans, tracer } = yield* recording
      const pipeline = yield* Pipeline.Pipeline
      yield* runClocked(pipeline.turn({ sessionId: "racing", conversation, prompts: [{ prompt: "a" }, { prompt: "b" }, { prompt: "c" }] })).pipe(
        Effect.withTracer(tracer)
      )
      const reasons = spans.filter((s) => s.name === `chat ${MODEL}`).map((s) => attr(s, PromptCache.missReason))
      expect(reasons.sort()).toEqual(["concurrent_writer", "concurrent_writer", "first_sight"])
    }).pipe(Effect.provide(SimulatedPipeline.layer({ pruner: false, warmer: { policy: "off" } }))))

  it.effect("tracing off (Layer.setTracerEnabled(false), as the program runs without an exporter): no span is made, the turn is the same", () =>
    Effect.gen(function*() {
      const { spans, tracer } = yield* recording
      const pipeline = yield* Pipeline.Pipeline
      const turn = yield* runClocked(pipeline.turn({ sessionId: "quiet", conversation, prompts: [{ prompt: "a" }, { prompt: "b" }] })).pipe(
        Effect.withTracer(tracer),
        Effect.withTracerEnabled(false)
      )
      expect(turn.responses.every(Either.isRight)).toBe(true)
      expect(spans).toEqual([])
    }).pipe(Effect.provide(SimulatedPipeline.layer({ pruner: false }))))

  it.effect("under Effect's built-in tracer (nobody reads spans) the library annotates nothing: an app's own span stays as the app made it", () =>
    Effect.gen(function*() {
      const pipeline = yield* Pipeline.Pipeline
      const appSpan = yield* Effect.flatMap(
        runClocked(pipeline.turn({ sessionId: "built-in", conversation, prompts: [{ prompt: "a" }, { prompt: "b" }] })),
        () => Effect.currentSpan
      ).pipe(Effect.withSpan("the app's own span"))
      const ours = [...appSpan.attributes.keys()].filter((k) => k.startsWith("prompt_cache.") || k.startsWith("gen_ai."))
      expect(ours).toEqual([])
    }).pipe(Effect.provide(SimulatedPipeline.layer({ pruner: false }))))
})
