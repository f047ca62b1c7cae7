/**
 * The shared registry and lock against a real redis-server on 127.0.0.1. `.ci/run` installs and starts
 * one and sets REDIS_URL; without REDIS_URL these tests are skipped (the fallback test always runs).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import * as CacheWarmer from "../../src/CacheWarmer.js"
import { LanguageModel } from "../../src/LanguageModel.js"
import * as Pipeline from "../../src/Pipeline.js"
import { breakpoints } from "../../src/Prefix.js"
import * as RedisRegistry from "../../src/redis/RedisRegistry.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as WarmRegistry from "../../src/WarmRegistry.js"
import type { MessagesRequest } from "../../src/Prompt.js"
import { sharedPrefixRequest, textOfTokens, until } from "../fixtures.js"

const url = process.env.REDIS_URL
if (url === undefined || url === "") {
  console.log("RedisRegistry: REDIS_URL is not set, skipping the tests that need a redis-server (.ci/run starts one)")
}

/** one simulator (one shared provider cache) and `n` pipeline replicas over it, each with its own layers */
const replicas = (n: number, registry: Pipeline.Config["registry"], sim: SimulatedProvider.SimulatorConfig) =>
  Effect.gen(function*() {
    const shared = yield* Layer.build(SimulatedProvider.layer(sim))
    const provider = Layer.succeedContext(shared)
    const warmers = yield* Effect.forEach(Array.from({ length: n }), () =>
      Effect.map(Layer.build(Pipeline.layer({ registry, pruner: false }).pipe(Layer.provide(provider))), (ctx) =>
        Context.get(ctx, CacheWarmer.CacheWarmer)))
    return { warmers, simulator: Context.get(shared, SimulatedProvider.Simulator), model: Context.get(shared, LanguageModel) }
  })

const writes = (calls: ReadonlyArray<SimulatedProvider.CallRecord>) =>
  calls.filter((c) => (c.usage?.cacheCreation5m ?? 0) + (c.usage?.cacheCreation1h ?? 0) > 0)

describe.skipIf(url === undefined || url === "")("Redis registry and lock (real redis-server)", () => {
  const options = () => ({ url: url!, keyPrefix: `epc-test-${randomUUID()}` })

  it.live("registry: raise-only expiry, cold, size", () =>
    Effect.gen(function*() {
      const registry = yield* WarmRegistry.WarmRegistry
      const now = Date.now()
      yield* registry.markWarm("a", now + 60_000)
      yield* registry.markWarm("a", now + 10_000)
      expect(yield* registry.warmUntil("a")).toEqual(Option.some(now + 60_000))
      yield* registry.markWarm("b", now + 200)
      expect(yield* registry.size).toBe(2)
      yield* registry.markCold("a")
      expect(yield* registry.warmUntil("a")).toEqual(Option.none())
      // Redis expires the key by itself (real time): wait for it, no fixed delay
      yield* until(Effect.map(registry.warmUntil("b"), Option.isNone))
      expect(yield* registry.size).toBe(0)
    }).pipe(Effect.provide(RedisRegistry.layer(options()))))

  it.live("lock: one owner at a time, released only by its token, expiring by itself", () =>
    Effect.gen(function*() {
      const { lock } = yield* RedisRegistry.make(options())
      const first = yield* lock.acquire("k", 300)
      expect(Option.isSome(first)).toBe(true)
      expect(yield* lock.acquire("k", 300)).toEqual(Option.none())
      yield* lock.release("k", "not-the-owner")
      expect(yield* lock.acquire("k", 300)).toEqual(Option.none())
      yield* lock.release("k", Option.getOrThrow(first))
      const second = yield* lock.acquire("k", 300)
      expect(Option.isSome(second)).toBe(true)
      // nobody releases the second lock: it expires by itself, and then it can be taken again
      yield* until(Effect.map(lock.acquire("k", 300), Option.isSome))
    }).pipe(Effect.scoped))

  it.live("4 replicas × 50 concurrent requests on one cold prefix: exactly one establishing call", () =>
    Effect.gen(function*() {
      const { simulator, warmers } = yield* replicas(4, RedisRegistry.layer(options()), {
        latency: { baseMs: 300, uncachedMsPer1k: 0, cachedMsPer1k: 0, outputMsPerToken: 0 }
      })
      const results = yield* Effect.forEach(warmers, (warmer, r) =>
        Effect.forEach(Array.from({ length: 50 }, (_, i) => sharedPrefixRequest(5000, `replica ${r} caller ${i}`)), warmer.request, {
          concurrency: "unbounded"
        }), { concurrency: "unbounded" })
      expect(results.flat()).toHaveLength(200)
      const calls = yield* simulator.calls
      expect(calls).toHaveLength(200)
      expect(writes(calls)).toHaveLength(1)
      for (const w of warmers) expect((yield* w.state).gates).toBe(0)
    }).pipe(Effect.scoped), 60_000)

  it.live("users on different replicas with their own conversations share one system prompt write", () =>
    Effect.gen(function*() {
      const { simulator, warmers } = yield* replicas(4, RedisRegistry.layer(options()), {
        latency: { baseMs: 300, uncachedMsPer1k: 0, cachedMsPer1k: 0, outputMsPerToken: 0 }
      })
      // a shared system breakpoint, and one on each user's own long message: every request's longest
      // cold prefix is its own, the system prefix is everyone's
      const request = (user: number): MessagesRequest => ({
        ...sharedPrefixRequest(5000, "x"),
        messages: [{
          role: "user",
          content: [
            { type: "text", text: textOfTokens(2000, `user${user}`), cache_control: { type: "ephemeral" } },
            { type: "text", text: "question" }
          ]
        }]
      })
      yield* Effect.forEach(warmers, (warmer, r) =>
        Effect.forEach([0, 1, 2, 3, 4].map((i) => request(r * 10 + i)), warmer.request, { concurrency: "unbounded" }), {
        concurrency: "unbounded"
      })
      const calls = yield* simulator.calls
      expect(calls).toHaveLength(20)
      // only the very first call wrote the system prompt: every other read it
      expect(calls.filter((c) => (c.usage?.cacheRead ?? 0) === 0)).toHaveLength(1)
    }).pipe(Effect.scoped), 60_000)

  it.live("without the shared registry, each replica establishes the prefix itself", () =>
    Effect.gen(function*() {
      const { simulator, warmers } = yield* replicas(4, {}, {
        latency: { baseMs: 300, uncachedMsPer1k: 0, cachedMsPer1k: 0, outputMsPerToken: 0 }
      })
      yield* Effect.forEach(warmers, (warmer, r) =>
        Effect.forEach(Array.from({ length: 50 }, (_, i) => sharedPrefixRequest(5000, `replica ${r} caller ${i}`)), warmer.request, {
          concurrency: "unbounded"
        }), { concurrency: "unbounded" })
      expect(writes(yield* simulator.calls)).toHaveLength(4)
    }).pipe(Effect.scoped), 60_000)

  it.live("the owner dies mid-warm: another replica takes over once its lock expires", () =>
    Effect.gen(function*() {
      const opts = options()
      const request = (i: number) => sharedPrefixRequest(5000, `after the crash ${i}`)
      // a dead owner: the establishing lock is held, nobody will release it
      const key = breakpoints(request(0)).at(-1)!.position.fingerprint
      const client = new Redis(url!)
      yield* Effect.promise(() => client.set(`${opts.keyPrefix}:lock:${key}`, "dead-owner", "PX", 1500))
      client.disconnect()
      const { simulator, warmers } = yield* replicas(2, RedisRegistry.layer(opts), {
        latency: { baseMs: 200, uncachedMsPer1k: 0, cachedMsPer1k: 0, outputMsPerToken: 0 }
      })
      const started = Date.now()
      yield* Effect.forEach(warmers, (warmer, r) =>
        Effect.forEach([0, 1, 2, 3, 4].map((i) => request(r * 10 + i)), warmer.request, { concurrency: "unbounded" }), {
        concurrency: "unbounded"
      })
      const calls = yield* simulator.calls
      expect(calls).toHaveLength(10)
      expect(writes(calls)).toHaveLength(1)
      // nobody sent before the dead owner's lock expired
      expect(Math.min(...calls.map((c) => c.startedAt)) - started).toBeGreaterThanOrEqual(1000)
    }).pipe(Effect.scoped), 60_000)
})

describe("Redis down", () => {
  const messages: Array<string> = []
  const logger = Logger.make(({ message }) => void messages.push(String(message)))
  it.live("falls back to the in-process registry with a warning; requests are unaffected", () =>
    Effect.gen(function*() {
      const { simulator, warmers } = yield* replicas(1, RedisRegistry.layer({ url: "redis://127.0.0.1:1", commandTimeoutMs: 200 }), {
        latency: { baseMs: 100, uncachedMsPer1k: 0, cachedMsPer1k: 0, outputMsPerToken: 0 }
      })
      const results = yield* Effect.forEach([0, 1, 2, 3, 4].map((i) => sharedPrefixRequest(5000, `down ${i}`)), warmers[0]!.request, {
        concurrency: "unbounded"
      })
      expect(results).toHaveLength(5)
      // the in-process gate still serialized them: one write, four reads
      expect(writes(yield* simulator.calls)).toHaveLength(1)
      expect(messages.some((m) => m.includes("Redis unavailable"))).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(Logger.replace(Logger.defaultLogger, logger))), 60_000)
})
