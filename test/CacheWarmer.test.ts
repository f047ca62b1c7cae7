import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import * as fc from "fast-check"
import * as CacheMetrics from "../src/CacheMetrics.js"
import * as CacheWarmer from "../src/CacheWarmer.js"
import { breakpoints } from "../src/Prefix.js"
import type { MessagesRequest } from "../src/Prompt.js"
import { Overloaded } from "../src/ProviderError.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as SimulatedProvider from "../src/simulator/SimulatedProvider.js"
import { runClocked, sharedPrefixRequest, textOfTokens } from "./fixtures.js"
import { warmerLayer } from "./warmerHarness.js"

const calls = Effect.flatMap(SimulatedProvider.Simulator, (s) => s.calls)
const writes = (cs: ReadonlyArray<SimulatedProvider.CallRecord>) =>
  cs.filter((c) => (c.usage?.cacheCreation5m ?? 0) + (c.usage?.cacheCreation1h ?? 0) > 0)
const reads = (cs: ReadonlyArray<SimulatedProvider.CallRecord>) => cs.filter((c) => (c.usage?.cacheRead ?? 0) > 0)

/** a fan-out of `n` over a ~`tokens`-token shared system prompt */
const fanOut = (n: number, tokens = 5000, salt = "s"): CacheWarmer.FanOut => ({
  shared: { ...sharedPrefixRequest(tokens, "warm", { maxTokens: 0 }), system: [{ type: "text", text: textOfTokens(tokens, salt), cache_control: { type: "ephemeral" } }] },
  requests: Array.from({ length: n }, (_, i) => ({
    ...sharedPrefixRequest(tokens, `question ${i}`),
    system: [{ type: "text" as const, text: textOfTokens(tokens, salt), cache_control: { type: "ephemeral" as const } }]
  }))
})

const runFor = runClocked

describe("CacheWarmer", () => {
  // with the in-process registry the decision is one synchronous step; with a registry that is only
  // effects (I/O) it is taken under the warmer's lock: both must be single-flight
  for (const registry of ["memory", "effectful"] as const) {
    it.effect(`1,000 concurrent callers on one cold prefix: exactly one establishing call, 999 reads (${registry} registry)`, () =>
      Effect.gen(function*() {
        const warmer = yield* CacheWarmer.CacheWarmer
        const requests = Array.from({ length: 1000 }, (_, i) => sharedPrefixRequest(5000, `caller ${i}`))
        const results = yield* runFor(Effect.all(requests.map(warmer.request), { concurrency: "unbounded" }))
        expect(results).toHaveLength(1000)
        const cs = yield* calls
        expect(cs).toHaveLength(1000)
        expect(writes(cs)).toHaveLength(1)
        expect(reads(cs)).toHaveLength(999)
        expect(yield* warmer.state).toEqual({ gates: 0, warmsInFlight: 0, keepAlives: 0, conversations: 0 })
      }).pipe(Effect.provide(warmerLayer({ policy: "auto" }, { sim: { latency: { outputMsPerToken: 0 } }, registry }))), 60_000)
  }

  it.effect("naive (off): parallel requests over a cold prefix each write it", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      yield* runFor(warmer.fanOut(fanOut(3)))
      expect(writes(yield* calls)).toHaveLength(3)
      const snapshot = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
      expect(snapshot.skippedWarms).toEqual({ warming_off: 1 })
    }).pipe(Effect.provide(warmerLayer({ policy: "off" }))))

  it.effect("warm-call method: one max_tokens 0 call, then every request reads", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const results = yield* runFor(warmer.fanOut(fanOut(3)))
      expect(results.responses.every(Either.isRight)).toBe(true)
      const cs = yield* calls
      expect(cs.map((c) => c.maxTokens)).toEqual([0, 200, 200, 200])
      expect(writes(cs).map((c) => c.maxTokens)).toEqual([0])
      expect(reads(cs)).toHaveLength(3)
      const s = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
      expect(s.calls.warm.count).toBe(1)
      expect(s.calls.request.cacheHits).toBe(3)
    }).pipe(Effect.provide(warmerLayer({ policy: "auto", method: "warm-call" }))))

  it.effect("a known-warm prefix gets no warm call", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      yield* runFor(warmer.fanOut(fanOut(3)))
      yield* runFor(warmer.fanOut(fanOut(3)))
      const cs = yield* calls
      expect(cs.filter((c) => c.maxTokens === 0)).toHaveLength(1)
      expect(reads(cs)).toHaveLength(6)
      const s = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
      expect(s.skippedWarms).toEqual({ known_warm: 1 })
    }).pipe(Effect.provide(warmerLayer({ policy: "auto", method: "warm-call" }))))

  it.effect("a fan-out of 1 gets no warm call: the lone request writes the cache itself", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      yield* runFor(warmer.fanOut(fanOut(1)))
      const cs = yield* calls
      expect(cs).toHaveLength(1)
      expect(writes(cs)).toHaveLength(1)
      const s = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
      expect(s.skippedWarms).toEqual({ single_request: 1 })
    }).pipe(Effect.provide(warmerLayer({ policy: "auto", method: "warm-call" }))))

  it.effect("a 900-token prefix on a 1024-minimum model gets no warm call", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      yield* runFor(warmer.fanOut(fanOut(3, 900)))
      const cs = yield* calls
      expect(cs.map((c) => c.maxTokens)).toEqual([200, 200, 200])
      expect(writes(cs)).toHaveLength(0)
      const s = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
      expect(s.skippedWarms).toEqual({ below_minimum: 1 })
    }).pipe(Effect.provide(warmerLayer({ policy: "auto", method: "warm-call" }))))

  it.effect("always (the seed's pattern): one warm call per fan-out, even when warm", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      yield* runFor(warmer.fanOut(fanOut(3)))
      yield* runFor(warmer.fanOut(fanOut(3)))
      yield* runFor(warmer.fanOut(fanOut(1)))
      const cs = yield* calls
      expect(cs.filter((c) => c.maxTokens === 0)).toHaveLength(3)
      // the second and third warm calls only read: a wasted call each
      expect(writes(cs)).toHaveLength(1)
    }).pipe(Effect.provide(warmerLayer({ policy: "always" }))))

  it.effect("TTL expiry: the prefix is warmed again", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      yield* runFor(warmer.fanOut(fanOut(3)))
      yield* TestClock.adjust("6 minutes")
      yield* runFor(warmer.fanOut(fanOut(3)))
      const cs = yield* calls
      expect(cs.filter((c) => c.maxTokens === 0)).toHaveLength(2)
      expect(writes(cs)).toHaveLength(2)
      expect(reads(cs)).toHaveLength(6)
    }).pipe(Effect.provide(warmerLayer({ policy: "auto", method: "warm-call" }))))

  it.effect("first-request method: no extra call; waiters released when the first response begins", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const results = yield* runFor(warmer.fanOut(fanOut(4)))
      expect(results.responses.every(Either.isRight)).toBe(true)
      const cs = yield* calls
      expect(cs).toHaveLength(4)
      expect(cs.every((c) => c.maxTokens === 200)).toBe(true)
      expect(writes(cs)).toHaveLength(1)
      expect(reads(cs)).toHaveLength(3)
      // the waiters were sent the moment the leader's response began, not when it completed
      const leader = writes(cs)[0]!
      for (const r of reads(cs)) expect(r.startedAt).toBe(leader.begunAt)
    }).pipe(Effect.provide(warmerLayer({ policy: "auto" }))))

  // After a failed warm the fan-out's requests are not sent naively: they go through the gate, so the
  // first establishes the prefix and the others read it (one write, not three). That is the right
  // fallback — a failed warm call says nothing about the requests — and docs/warming.md says so.
  it.effect("the warm call fails after its retries: the outcome says Failed, every request succeeds, and the requests still establish the prefix single-flight", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const results = yield* runFor(warmer.fanOut(fanOut(3)))
      expect(results.warm?._tag).toBe("Failed")
      expect(results.responses.every(Either.isRight)).toBe(true)
      const s = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
      expect(s.calls.warm.failures).toBe(1)
      expect(s.calls.warm.retries).toBe(2)
      expect(s.calls.request.count).toBe(3)
      const requests = (yield* calls).filter((c) => c.maxTokens > 0)
      expect(writes(requests)).toHaveLength(1)
      expect(reads(requests)).toHaveLength(2)
    }).pipe(Effect.provide(warmerLayer(
      { policy: "auto", method: "warm-call", retry: RetryPolicy.exponentialBackoff({ maxRetries: 2, baseDelayMs: 10 }) },
      { failWhen: (r) => (r.max_tokens === 0 ? new Overloaded({ detail: "busy" }) : undefined) }
    ))))

  it.effect("two concurrent fan-outs, one failed warm: the one that led says Failed, the one that joined JoinedFailed (never Joined)", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const [a, b] = yield* runFor(Effect.all([warmer.fanOut(fanOut(3)), warmer.fanOut(fanOut(3))], { concurrency: "unbounded" }))
      expect([a.warm?._tag, b.warm?._tag].sort()).toEqual(["Failed", "JoinedFailed"])
      expect([...a.responses, ...b.responses].every(Either.isRight)).toBe(true)
      expect(yield* warmer.state).toEqual({ gates: 0, warmsInFlight: 0, keepAlives: 0, conversations: 0 })
    }).pipe(Effect.provide(warmerLayer(
      { policy: "auto", method: "warm-call", retry: RetryPolicy.none },
      // the warm call fails after 500 ms of provider time: the second fan-out decides while it is in flight
      { failWhen: (r) => (r.max_tokens === 0 ? { error: new Overloaded({ detail: "busy" }), afterMs: 500 } : undefined) }
    ))))

  it.effect("two concurrent fan-outs, the warm succeeds: Warmed and Joined, one write", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const [a, b] = yield* runFor(Effect.all([warmer.fanOut(fanOut(3)), warmer.fanOut(fanOut(3))], { concurrency: "unbounded" }))
      expect([a.warm?._tag, b.warm?._tag].sort()).toEqual(["Joined", "Warmed"])
      expect(writes(yield* calls)).toHaveLength(1)
    }).pipe(Effect.provide(warmerLayer({ policy: "auto", method: "warm-call" }))))

  it.effect("the leading request fails: the waiters are released and succeed", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const results = yield* runFor(warmer.fanOut(fanOut(3)))
      expect(results.responses.filter(Either.isLeft)).toHaveLength(1)
      expect(results.responses.filter(Either.isRight)).toHaveLength(2)
      expect(yield* warmer.state).toEqual({ gates: 0, warmsInFlight: 0, keepAlives: 0, conversations: 0 })
    }).pipe(Effect.provide(warmerLayer(
      { policy: "auto", retry: RetryPolicy.none },
      { failWhen: (_, n) => (n === 0 ? new Overloaded({ detail: "busy" }) : undefined) }
    ))))

  it.effect("a leader that hangs: waiters are released after maxWaitMs and run uncached", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const leader = yield* Effect.fork(warmer.request(sharedPrefixRequest(5000, "leader")))
      yield* TestClock.adjust("10 millis")
      const waiters = yield* Effect.fork(
        Effect.all([1, 2].map((i) => warmer.request(sharedPrefixRequest(5000, `waiter ${i}`))), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("29 seconds")
      expect(yield* calls).toHaveLength(0)
      yield* TestClock.adjust("2 seconds")
      yield* TestClock.adjust("1 minute")
      const results = yield* Fiber.join(waiters)
      expect(results).toHaveLength(2)
      expect(writes(yield* calls)).toHaveLength(2)
      yield* Fiber.interrupt(leader)
      expect(yield* warmer.state).toEqual({ gates: 0, warmsInFlight: 0, keepAlives: 0, conversations: 0 })
    }).pipe(Effect.provide(warmerLayer({ policy: "auto", maxWaitMs: 30_000 }, { failWhen: (_, n) => (n === 0 ? "hang" : undefined) }))))

  it.effect("an interrupted leader: a waiter takes over, still one write", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const leader = yield* Effect.fork(warmer.request(sharedPrefixRequest(5000, "leader")))
      yield* TestClock.adjust("10 millis")
      const waiters = yield* Effect.fork(
        Effect.all([1, 2, 3].map((i) => warmer.request(sharedPrefixRequest(5000, `waiter ${i}`))), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("100 millis")
      yield* Fiber.interrupt(leader)
      yield* TestClock.adjust("2 minutes")
      const results = yield* Fiber.join(waiters)
      expect(results).toHaveLength(3)
      const cs = yield* calls
      expect(cs[0]!.outcome).toBe("interrupted")
      expect(writes(cs)).toHaveLength(1)
      expect(reads(cs)).toHaveLength(2)
      expect(yield* warmer.state).toEqual({ gates: 0, warmsInFlight: 0, keepAlives: 0, conversations: 0 })
    }).pipe(Effect.provide(warmerLayer({ policy: "auto" }))))

  it.effect("no gate or permit leaks under many interrupted fibers", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const fibers = yield* Effect.forEach(Array.from({ length: 300 }), (_, i) =>
        Effect.fork(
          i % 2 === 0
            ? Effect.asVoid(warmer.request(sharedPrefixRequest(5000, `r${i}`)))
            : Effect.asVoid(warmer.fanOut(fanOut(3, 5000, `p${i % 7}`)))
        ))
      for (let step = 0; step < 30; step++) {
        yield* TestClock.adjust("37 millis")
        yield* Fiber.interrupt(fibers[(step * 7919) % fibers.length]!)
        yield* Fiber.interrupt(fibers[(step * 104729 + 3) % fibers.length]!)
      }
      yield* Effect.forEach(fibers.slice(0, 100), Fiber.interrupt)
      yield* TestClock.adjust("5 minutes")
      yield* Effect.forEach(fibers, Fiber.await)
      expect(yield* warmer.state).toEqual({ gates: 0, warmsInFlight: 0, keepAlives: 0, conversations: 0 })
      // and the warmer still works
      const after = yield* runFor(warmer.fanOut(fanOut(3, 5000, "after")))
      expect(after.responses.every(Either.isRight)).toBe(true)
    }).pipe(Effect.provide(warmerLayer({ policy: "auto", method: "warm-call" }))), 60_000)

  it.effect("an interrupted fan-out interrupts its requests in flight: none left running", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const fiber = yield* Effect.fork(warmer.fanOut(fanOut(3, 5000, "cut")))
      // past the leader's first token (~1 s): all three requests are in flight
      yield* TestClock.adjust("1500 millis")
      expect((yield* calls).filter((c) => c.outcome === "pending")).toHaveLength(3)
      yield* Fiber.interrupt(fiber)
      const cs = yield* calls
      expect(cs.map((c) => c.outcome)).toEqual(["interrupted", "interrupted", "interrupted"])
      expect(yield* warmer.state).toEqual({ gates: 0, warmsInFlight: 0, keepAlives: 0, conversations: 0 })
    }).pipe(Effect.provide(warmerLayer({ policy: "auto" }))))

  it.live("a warmer built in an uninterruptible region still closes with its scope (the watchdog stays interruptible)", () =>
    Effect.gen(function*() {
      // e.g. built in an acquireRelease's acquire: its watchdog fiber must not inherit the region
      const closed = yield* Effect.scoped(Effect.uninterruptible(CacheWarmer.make({ policy: "auto" }))).pipe(
        Effect.provide(warmerLayer({ policy: "off" })),
        Effect.timeout("2 seconds"),
        Effect.option
      )
      expect(closed._tag).toBe("Some")
    }), 10_000)

  it.effect("keep-alive refreshes a prefix with steady traffic, and stops when traffic stops", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      // a fan-out every 5.5 minutes: each would find the 5-minute entry expired
      for (let i = 0; i < 7; i++) {
        yield* runFor(warmer.fanOut(fanOut(2)), "30 seconds")
        for (let j = 0; j < 5; j++) yield* TestClock.adjust("1 minute")
      }
      const before = (yield* calls).filter((c) => c.maxTokens === 0).length
      // the keep-alive refreshed the prefix before each expiry, so every later fan-out read it
      expect(before).toBeGreaterThanOrEqual(6)
      // silence: at most maxIdleRefreshes more, then it stops by itself. (Keep-alive fibers live in the
      // layer's scope, outside the test fiber, so the clock is moved in steps they can keep up with.)
      for (let i = 0; i < 24; i++) yield* TestClock.adjust("5 minutes")
      const after = (yield* calls).filter((c) => c.maxTokens === 0).length
      expect(after - before).toBeGreaterThanOrEqual(1)
      expect(after - before).toBeLessThanOrEqual(2)
      expect((yield* warmer.state).keepAlives).toBe(0)
      const requests = (yield* calls).filter((c) => c.maxTokens > 0)
      expect(requests.slice(2).every((c) => (c.usage?.cacheRead ?? 0) > 0)).toBe(true)
    }).pipe(Effect.provide(warmerLayer({ policy: "auto", keepAlive: { maxIdleRefreshes: 2 } }))), 60_000)

  it.effect("keep-alive lets go of a prefix whose conversation has ended (release): no refresh after it", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const input = fanOut(2)
      // steady traffic: a fan-out every 4 minutes, so keep-alive would refresh after the last one
      for (let i = 0; i < 3; i++) {
        yield* runFor(warmer.fanOut(input), "30 seconds")
        for (let j = 0; j < 4; j++) yield* TestClock.adjust("1 minute")
      }
      expect((yield* warmer.state).keepAlives).toBe(1)
      const before = (yield* calls).filter((c) => c.maxTokens === 0).length
      // the prefix the keep-alive tracks: the shared request's last breakpoint
      yield* warmer.release(breakpoints(input.shared as MessagesRequest).at(-1)!.position.fingerprint)
      expect((yield* warmer.state).keepAlives).toBe(0)
      for (let i = 0; i < 24; i++) yield* TestClock.adjust("5 minutes")
      expect((yield* calls).filter((c) => c.maxTokens === 0).length).toBe(before)
    }).pipe(Effect.provide(warmerLayer({ policy: "auto", keepAlive: { maxIdleRefreshes: 2 } }))), 60_000)

  it.effect("keep-alive prices the miss it prevents at the entry's TTL: a 1h entry is kept alive longer after traffic stops", () =>
    Effect.gen(function*() {
      const warmer = yield* CacheWarmer.CacheWarmer
      const oneHour = (text: string) => ({
        ...sharedPrefixRequest(5000, text, { ttl: "1h" })
      })
      yield* runFor(warmer.fanOut({ shared: { ...oneHour("warm"), max_tokens: 0 }, requests: [oneHour("q1"), oneHour("q2")] }), "30 seconds")
      // silence: a refresh is sent while p = 1 − exp(−TTL / gap) > read / (write − read). For a 1h
      // entry that is 0.1 / 1.9 (gap < ~18.5 TTLs); priced as a 5m write, 0.1 / 1.15 (gap < ~11 TTLs).
      for (let i = 0; i < 30 * 12; i++) yield* TestClock.adjust("5 minutes")
      const refreshes = (yield* calls).filter((c) => c.maxTokens === 0).length
      expect(refreshes).toBeGreaterThanOrEqual(17)
      expect(refreshes).toBeLessThanOrEqual(19)
      expect((yield* warmer.state).keepAlives).toBe(0)
    }).pipe(Effect.provide(warmerLayer({ policy: "auto", keepAlive: { maxIdleRefreshes: 100 } }))), 60_000)

  it.effect("property: writes per prefix per TTL window ≤ 1 under random interleavings", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ at: fc.integer({ min: 0, max: 900_000 }), prefix: fc.integer({ min: 0, max: 2 }) }), {
            minLength: 1,
            maxLength: 25
          }),
          async (arrivals) => {
            const program = Effect.gen(function*() {
              const warmer = yield* CacheWarmer.CacheWarmer
              const fibers = yield* Effect.forEach(arrivals, (a, i) =>
                Effect.fork(
                  Effect.zipRight(
                    Effect.sleep(`${a.at} millis`),
                    warmer.request({
                      ...sharedPrefixRequest(3000, `q${i}`),
                      system: [{ type: "text", text: textOfTokens(3000, `prefix${a.prefix}`), cache_control: { type: "ephemeral" } }]
                    })
                  )
                ))
              yield* TestClock.adjust("20 minutes")
              yield* Effect.forEach(fibers, Fiber.join)
              return yield* calls
            })
            const cs = await Effect.runPromise(
              program.pipe(Effect.provide(warmerLayer({ policy: "auto" })), Effect.provide(TestContextLayer))
            )
            const byPrefix = new Map<string, Array<number>>()
            for (const c of writes(cs)) {
              const list = byPrefix.get(c.prefixFingerprint!) ?? []
              list.push(c.begunAt!)
              byPrefix.set(c.prefixFingerprint!, list)
            }
            for (const [, times] of byPrefix) {
              for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(300_000)
            }
          }
        ),
        { numRuns: 25, seed: 42 }
      )
    ), 60_000)
})

const TestContextLayer = TestContext.TestContext
