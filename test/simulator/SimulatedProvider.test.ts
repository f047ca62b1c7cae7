import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { LanguageModel, streamToResponse } from "../../src/LanguageModel.js"
import type { Message, MessagesRequest } from "../../src/Prompt.js"
import type { Usage } from "../../src/Response.js"
import * as Sim from "../../src/simulator/SimulatedProvider.js"
import { MODEL, runClocked as runClockedBy, sharedPrefixRequest, textOfTokens } from "../fixtures.js"

const simulated = (config: Sim.SimulatorConfig = {}) => Sim.layer(config)

/** the shared helper, with a step short enough to keep 5-minute entries alive between calls */
const runClocked = <A, E, R>(effect: Effect.Effect<A, E, R>, step: Parameters<typeof TestClock.adjust>[0] = "30 seconds") =>
  runClockedBy(effect, step)

describe("SimulatedProvider", () => {
  it.effect("three simultaneous requests over a fresh 5k-token prefix each write it", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const responses = yield* runClocked(
        Effect.all([1, 2, 3].map((i) => lm.create(sharedPrefixRequest(5000, `question ${i}`))), {
          concurrency: "unbounded"
        })
      )
      for (const r of responses) {
        expect(r.usage.cacheCreation5m).toBe(5000)
        expect(r.usage.cacheRead).toBe(0)
      }
    }).pipe(Effect.provide(simulated())))

  it.effect("a warm call, then three parallel requests: one write and three reads", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const warm = yield* runClocked(lm.create(sharedPrefixRequest(5000, "warm", { maxTokens: 0 })))
      expect(warm.content).toEqual([])
      expect(warm.stopReason).toBe("max_tokens")
      expect(warm.usage.output).toBe(0)
      expect(warm.usage.cacheCreation5m).toBe(5000)
      const responses = yield* runClocked(
        Effect.all([1, 2, 3].map((i) => lm.create(sharedPrefixRequest(5000, `question ${i}`))), {
          concurrency: "unbounded"
        })
      )
      for (const r of responses) {
        expect(r.usage.cacheCreation5m).toBe(0)
        expect(r.usage.cacheRead).toBe(5000)
        expect(r.usage.input).toBeGreaterThan(0)
      }
    }).pipe(Effect.provide(simulated())))

  it.effect("a dated model id and its alias share one cache, as they share one price", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const written = yield* runClocked(lm.create(sharedPrefixRequest(5000, "warm", { maxTokens: 0, model: "claude-sonnet-4-5-20250929" })))
      expect(written.usage.cacheCreation5m).toBe(5000)
      for (const model of ["claude-sonnet-4-5", "claude-sonnet-4-5-latest"]) {
        const read = yield* runClocked(lm.create(sharedPrefixRequest(5000, "question", { model })))
        expect(read.usage.cacheRead).toBe(5000)
      }
      // another model does not read it
      const other = yield* runClocked(lm.create(sharedPrefixRequest(5000, "question", { model: "claude-opus-4-1" })))
      expect(other.usage.cacheRead).toBe(0)
    }).pipe(Effect.provide(simulated())))

  it.effect("an entry becomes readable only once the writing response has begun", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const first = yield* Effect.fork(lm.create(sharedPrefixRequest(5000, "a")))
      // TTFT of 5k uncached tokens = 500 + 110 × 5.003 ≈ 1050 ms; a request sent at 1000 ms misses
      yield* TestClock.adjust("1000 millis")
      const early = yield* Effect.fork(lm.create(sharedPrefixRequest(5000, "b")))
      yield* TestClock.adjust("100 millis")
      const late = yield* Effect.fork(lm.create(sharedPrefixRequest(5000, "c")))
      yield* TestClock.adjust("1 hour")
      expect((yield* Fiber.join(first)).usage.cacheCreation5m).toBe(5000)
      expect((yield* Fiber.join(early)).usage.cacheCreation5m).toBe(5000)
      expect((yield* Fiber.join(late)).usage.cacheRead).toBe(5000)
    }).pipe(Effect.provide(simulated())))

  it.effect("a prefix below the model's minimum is never cached and both counters are 0", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      for (let i = 0; i < 2; i++) {
        const r = yield* runClocked(lm.create(sharedPrefixRequest(900, `q${i}`)))
        expect(r.usage.cacheCreation5m + r.usage.cacheCreation1h).toBe(0)
        expect(r.usage.cacheRead).toBe(0)
        expect(r.usage.input).toBeGreaterThan(900)
      }
      // Opus 4.5's minimum is 4096: a 3,000-token prefix caches on Sonnet 4.5 but not on it
      const opus = yield* runClocked(lm.create(sharedPrefixRequest(3000, "q", { model: "claude-opus-4-5" })))
      expect(opus.usage.cacheCreation5m).toBe(0)
    }).pipe(Effect.provide(simulated())))

  it.effect("TTL: a 5m entry expires; a read refreshes it", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      yield* runClocked(lm.create(sharedPrefixRequest(5000, "a")))
      yield* TestClock.adjust("4 minutes")
      const read = yield* runClocked(lm.create(sharedPrefixRequest(5000, "b")))
      expect(read.usage.cacheRead).toBe(5000)
      // 4 more minutes: 8 min after the write, but only 4 after the refreshing read
      yield* TestClock.adjust("4 minutes")
      const again = yield* runClocked(lm.create(sharedPrefixRequest(5000, "c")))
      expect(again.usage.cacheRead).toBe(5000)
      yield* TestClock.adjust("6 minutes")
      const expired = yield* runClocked(lm.create(sharedPrefixRequest(5000, "d")))
      expect(expired.usage.cacheRead).toBe(0)
      expect(expired.usage.cacheCreation5m).toBe(5000)
    }).pipe(Effect.provide(simulated())))

  it.effect("a 1h breakpoint is billed as a 1h write and outlives 5 minutes", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const w = yield* runClocked(lm.create(sharedPrefixRequest(5000, "a", { ttl: "1h" })))
      expect(w.usage.cacheCreation1h).toBe(5000)
      expect(w.usage.cacheCreation5m).toBe(0)
      yield* TestClock.adjust("30 minutes")
      const r = yield* runClocked(lm.create(sharedPrefixRequest(5000, "b", { ttl: "1h" })))
      expect(r.usage.cacheRead).toBe(5000)
    }).pipe(Effect.provide(simulated())))

  const conversation = (blocks: number): MessagesRequest => {
    const messages: Array<Message> = [{
      role: "user",
      content: [{ type: "text", text: "start" }]
    }]
    for (let i = 0; i < blocks; i++) {
      messages.push({ role: i % 2 === 0 ? "assistant" : "user", content: [{ type: "text", text: `block ${i}` }] })
    }
    return {
      model: MODEL,
      max_tokens: 10,
      system: [{ type: "text", text: textOfTokens(3000) }],
      messages
    }
  }
  const withBreakpointAtEnd = (r: MessagesRequest): MessagesRequest => ({
    ...r,
    messages: r.messages.map((m, i) =>
      i === r.messages.length - 1
        ? { ...m, content: [{ type: "text" as const, text: (m.content[0] as { text: string }).text, cache_control: { type: "ephemeral" as const } }] }
        : m
    )
  })

  it.effect("the 20-block lookback: a hit 20 positions back (breakpoint included), a miss at 21", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const base = withBreakpointAtEnd(conversation(0))
      const written = yield* runClocked(lm.create(base))
      const cached = written.usage.cacheCreation5m
      expect(cached).toBeGreaterThan(3000)
      // the breakpoint sits 19 positions after the cached one: the walk covers 20 positions
      const near = yield* runClocked(lm.create(withBreakpointAtEnd(conversation(19))))
      expect(near.usage.cacheRead).toBe(cached)
      yield* Effect.flatMap(Sim.Simulator, (s) => s.flushCache)
      yield* runClocked(lm.create(base))
      const far = yield* runClocked(lm.create(withBreakpointAtEnd(conversation(20))))
      expect(far.usage.cacheRead).toBe(0)
      expect(far.usage.cacheCreation5m).toBeGreaterThan(cached)
    }).pipe(Effect.provide(simulated())))

  it.effect("automatic caching puts the breakpoint on the last cacheable block", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const req: MessagesRequest = {
        model: MODEL,
        max_tokens: 10,
        cache_control: { type: "ephemeral" },
        system: textOfTokens(3000),
        messages: [{ role: "user", content: "hello there" }]
      }
      const a = yield* runClocked(lm.create(req))
      expect(a.usage.input).toBe(0)
      expect(a.usage.cacheCreation5m).toBeGreaterThan(3000)
      const b = yield* runClocked(lm.create(req))
      expect(b.usage.cacheRead).toBe(a.usage.cacheCreation5m)
    }).pipe(Effect.provide(simulated())))

  it.effect("several breakpoints: the longest hit is read, later segments written", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const req = (turn: string): MessagesRequest => ({
        model: MODEL,
        max_tokens: 10,
        system: [{ type: "text", text: textOfTokens(2000), cache_control: { type: "ephemeral", ttl: "1h" } }],
        messages: [{
          role: "user",
          content: [{ type: "text", text: textOfTokens(1500, turn), cache_control: { type: "ephemeral" } }, {
            type: "text",
            text: "tail"
          }]
        }]
      })
      const a = yield* runClocked(lm.create(req("a")))
      expect(a.usage.cacheCreation1h).toBe(2000)
      expect(a.usage.cacheCreation5m).toBe(1503)
      expect(a.usage.input).toBe(1)
      const b = yield* runClocked(lm.create(req("b")))
      expect(b.usage.cacheRead).toBe(2000)
      expect(b.usage.cacheCreation5m).toBe(1503)
      expect(b.usage.cacheCreation1h).toBe(0)
    }).pipe(Effect.provide(simulated())))

  it.effect("a 5th breakpoint is rejected with the API's message, and nothing is logged as sent", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const req: MessagesRequest = {
        model: MODEL,
        max_tokens: 10,
        system: [1, 2, 3, 4, 5].map((i) => ({ type: "text" as const, text: `s${i}`, cache_control: { type: "ephemeral" as const } })),
        messages: [{ role: "user", content: "hi" }]
      }
      const error = yield* Effect.flip(lm.create(req))
      expect(error._tag).toBe("InvalidPrompt")
      expect(error.message).toContain("A maximum of 4 blocks with cache_control may be provided. Found 5.")
      const calls = yield* Effect.flatMap(Sim.Simulator, (s) => s.calls)
      expect(calls).toHaveLength(0)
    }).pipe(Effect.provide(simulated())))

  it.effect("a bounded call log keeps the most recent calls", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const sim = yield* Sim.Simulator
      const sent: Array<string> = []
      for (let i = 0; i < 7; i++) {
        sent.push((yield* runClocked(lm.create(sharedPrefixRequest(10, `q ${i}`)))).id)
        const calls = yield* sim.calls
        expect(calls.map((c) => c.id)).toEqual(sent.slice(-3))
      }
    }).pipe(Effect.provide(simulated({ callLogLimit: 3 }))))

  it.effect("an unknown model is a NotFound error", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const error = yield* Effect.flip(lm.create(sharedPrefixRequest(10, "q", { model: "claude-nope-1" })))
      expect(error._tag).toBe("NotFound")
      expect(error.message).toContain("claude-nope-1")
    }).pipe(Effect.provide(simulated())))

  it.effect("stream: Begun carries the cache usage and arrives before completion", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const events = yield* runClocked(
        lm.stream(sharedPrefixRequest(5000, "q")).pipe(
          Stream.mapEffect((e) => Effect.map(Effect.clockWith((c) => c.currentTimeMillis), (t) => ({ e, t }))),
          Stream.runCollect
        )
      )
      const list = Array.from(events)
      const tags = list.map((x) => x.e._tag)
      // the text comes in several deltas, as the API streams it, and adds up to the response's text
      expect(tags[0]).toBe("Begun")
      expect(tags.at(-1)).toBe("Completed")
      expect(tags.slice(1, -1).length).toBeGreaterThan(1)
      expect(tags.slice(1, -1).every((t) => t === "TextDelta")).toBe(true)
      const completed = list.at(-1)!.e as { response: { content: ReadonlyArray<{ text?: unknown }> } }
      expect(list.flatMap((x) => (x.e._tag === "TextDelta" ? [x.e.text] : [])).join("")).toBe(completed.response.content[0]!.text)
      const begun = list[0]!
      const done = list.at(-1)!
      expect(begun.e._tag === "Begun" && begun.e.usage?.cacheCreation5m).toBe(5000)
      expect(begun.t).toBeLessThan(done.t)
      expect(done.e._tag === "Completed" && done.e.response.usage.output).toBe(100)
    }).pipe(Effect.provide(simulated())))

  it.effect("streamResponse is its stream consumed: same begun usage and time, same response", () =>
    Effect.gen(function*() {
      // two fresh simulators get the same calls, one through stream + streamToResponse, one through
      // the native streamResponse the warmer's leaders use
      const run = (native: boolean) =>
        Effect.gen(function*() {
          const lm = yield* LanguageModel
          const out: Array<unknown> = []
          // both runs share the test's clock: times are taken from the start of each
          const start = yield* Effect.clockWith((c) => c.currentTimeMillis)
          const since = (t: number) => Math.round((t - start) * 1000) / 1000
          for (const q of ["a", "b"]) {
            const request = { ...sharedPrefixRequest(5000, q), stream: true }
            const onBegun = (usage: Usage | undefined) =>
              Effect.map(Effect.clockWith((c) => c.currentTimeMillis), (t) => void out.push({ begun: usage, t: since(t) }))
            const response = yield* runClocked(
              native ? lm.streamResponse!(request, onBegun) : streamToResponse(lm.stream(request), onBegun)
            )
            out.push({ response, t: since(yield* Effect.clockWith((c) => c.currentTimeMillis)) })
          }
          const calls = yield* Effect.flatMap(Sim.Simulator, (s) => s.calls)
          out.push(calls.map((c) => ({ ...c, startedAt: since(c.startedAt), begunAt: since(c.begunAt!), completedAt: since(c.completedAt!) })))
          return out
        }).pipe(Effect.provide(simulated()))
      const native = yield* run(true)
      const derived = yield* run(false)
      expect(native).toEqual(derived)
      expect(native).toHaveLength(5)
      expect((native[0] as { begun: Usage }).begun.cacheCreation5m).toBe(5000)
      expect((native[2] as { begun: Usage }).begun.cacheRead).toBe(5000)
    }))

  it.effect("max_tokens: 0 with stream is rejected", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const error = yield* Effect.flip(Stream.runDrain(lm.stream({ ...sharedPrefixRequest(10, "q", { maxTokens: 0 }), stream: true })))
      expect(error._tag).toBe("InvalidPrompt")
      expect(error.message).toContain("max_tokens: 0 is not supported with stream: true")
    }).pipe(Effect.provide(simulated())))

  it.effect("latency model: TTFT follows uncached and cached tokens", () =>
    Effect.gen(function*() {
      const lm = yield* LanguageModel
      const sim = yield* Sim.Simulator
      yield* runClocked(lm.create(sharedPrefixRequest(100_000, "a", { maxTokens: 0 })))
      yield* runClocked(lm.create(sharedPrefixRequest(100_000, "b", { maxTokens: 0 })))
      const [cold, warm] = yield* sim.calls
      expect(cold!.begunAt! - cold!.startedAt).toBeCloseTo(500 + 110 * 100, 0)
      expect(warm!.begunAt! - warm!.startedAt).toBeCloseTo(500 + 19 * 100 + 110 * 0.004, 0)
    }).pipe(Effect.provide(simulated())))

  it.effect("fault injection is seeded and reproducible", () =>
    Effect.gen(function*() {
      const outcomes = (seed: number) =>
        Effect.gen(function*() {
          const lm = yield* LanguageModel
          const sim = yield* Sim.Simulator
          yield* runClocked(
            Effect.all(
              Array.from({ length: 200 }, (_, i) => Effect.either(lm.create(sharedPrefixRequest(100, `q${i}`)))),
              { concurrency: 10 }
            ),
            "10 hours"
          )
          return (yield* sim.calls).map((c) => c.outcome)
        }).pipe(Effect.provide(simulated({ faults: { seed, overloaded: 0.2, rateLimited: 0.1, serverError: 0.05 } })))
      const a = yield* outcomes(7)
      const b = yield* outcomes(7)
      expect(a).toEqual(b)
      const overloaded = a.filter((o) => o === "Overloaded").length
      expect(overloaded).toBeGreaterThan(20)
      expect(overloaded).toBeLessThan(60)
      expect(a.filter((o) => o === "RateLimited").length).toBeGreaterThan(5)
      expect(a.filter((o) => o === "success").length).toBeGreaterThan(100)
    }))
})
