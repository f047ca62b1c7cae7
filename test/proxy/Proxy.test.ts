/**
 * The proxy between real clients and `serve`, over real HTTP: the official Anthropic and OpenAI SDKs
 * and the Vercel AI SDK, with only their base URL changed.
 */
import Anthropic from "@anthropic-ai/sdk"
import { createAnthropic } from "@ai-sdk/anthropic"
import { describe, expect, layer } from "@effect/vitest"
import { generateText } from "ai"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { randomUUID } from "node:crypto"
import OpenAI from "openai"
import * as CacheMetrics from "../../src/CacheMetrics.js"
import * as Pricing from "../../src/Pricing.js"
import * as Proxy from "../../src/proxy/Proxy.js"
import * as RedisRegistry from "../../src/redis/RedisRegistry.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"
import * as WarmRegistry from "../../src/WarmRegistry.js"
import { until } from "../fixtures.js"

const KEY = "sk-ant-proxy-test-0123456789-secret"
// about 4,600 tokens: above Sonnet 4.6's minimum cacheable prefix (2,048)
const SYSTEM = "You are a terse assistant who answers in one short sentence. ".repeat(300)

/**
 * `serve` with a latency that makes concurrency matter (a write is readable 300 ms after it starts),
 * generating every token a request allows (2 ms each)
 */
const Serve = SimulatorServer.layer().pipe(
  Layer.provideMerge(SimulatedProvider.layer({
    latency: { ...SimulatedProvider.zeroLatency, baseMs: 300, outputMsPerToken: 2 },
    outputTokens: (request) => request.max_tokens
  }))
)

const access: Array<Proxy.AccessLine> = []

/** a proxy in front of the server in context, its own registry unless one is given */
const proxyLayer = (
  registry: Layer.Layer<WarmRegistry.WarmRegistry> = WarmRegistry.layerMemory(),
  maxBodyBytes?: number,
  maxConcurrentPerTenant?: number,
  streamLeaders?: boolean
) =>
  Layer.unwrapEffect(Effect.map(SimulatorServer.SimulatorServer, (server) =>
    Proxy.layer({
      port: 0,
      anthropicUpstream: server.url,
      openaiUpstream: server.url,
      tenantSecret: "replicas-share-this",
      maxBodyBytes,
      maxConcurrentPerTenant,
      streamLeaders,
      onAccess: (line) => Effect.sync(() => void access.push(line))
    }).pipe(
      Layer.provideMerge(CacheMetrics.layer),
      Layer.provide(registry),
      Layer.provide(Pricing.layerDefault)
    )))

const Stack = Layer.provideMerge(proxyLayer(), Serve)

/** waits until the access log has `n` lines */
const logged = (n: number) => until(Effect.sync(() => access.length >= n))

const sdk = (baseURL: string, apiKey = KEY) => new Anthropic({ apiKey, baseURL, maxRetries: 0 })

/** `n` concurrent requests over one cold prefix; the cache usage each got */
const burst = (client: Anthropic, n: number, salt = "") =>
  Effect.promise(() =>
    Promise.all(Array.from({ length: n }, (_, i) =>
      client.messages.create({
        model: "claude-sonnet-4-6",
        max_tokens: 20,
        system: [{ type: "text", text: SYSTEM + salt, cache_control: { type: "ephemeral" } }],
        messages: [{ role: "user", content: `question ${i}` }]
      })))
  ).pipe(Effect.map((responses) => ({
    writes: responses.filter((r) => (r.usage.cache_creation_input_tokens ?? 0) > 0).length,
    reads: responses.filter((r) => (r.usage.cache_read_input_tokens ?? 0) > 0).length
  })))

describe("the proxy, between real clients and serve", () => {
  layer(Stack, { excludeTestServices: true })("Anthropic's wire", (it) => {
    it.effect("8 concurrent requests over one cold prefix: 1 write and 7 reads through the proxy, 8 writes straight at serve", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const proxy = yield* Proxy.Proxy
        expect(yield* burst(sdk(proxy.url), 8, "a")).toEqual({ writes: 1, reads: 7 })
        expect(yield* burst(sdk(server.url), 8, "b")).toEqual({ writes: 8, reads: 0 })
        // each line is written when its call has ended, a moment after its client got the answer
        yield* logged(8)
        const gates = access.filter((l) => l.path === "/v1/messages").map((l) => l.gate)
        expect(gates.filter((g) => g === "led")).toHaveLength(1)
        expect(gates.filter((g) => g === "waited")).toHaveLength(7)
        // the same in CacheMetrics (what /metrics exports): by outcome, and the writes the waiting avoided
        const snapshot = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
        expect(snapshot.gates).toEqual({ led: 1, waited: 7 })
        expect(snapshot.calls.request.cacheHits).toBe(7)
        const saved = access.filter((l) => l.gate === "waited").reduce((n, l) => n + (l.savedUsd ?? 0), 0)
        expect(snapshot.gateSavingsUsd).toBeCloseTo(saved, 9)
        // 7 reads of the same prefix instead of 7 writes: 7 × tokens × $3/M × (1.25 − 0.1)
        const read = access.find((l) => l.gate === "waited")!.tokens!.cacheRead
        expect(saved).toBeCloseTo(7 * read * 3 * 1.15 / 1_000_000, 9)
      }))

    it.effect("the Vercel AI SDK, its base URL at the proxy: one write, the rest read", () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.Proxy
        const anthropic = createAnthropic({ baseURL: `${proxy.url}/v1`, apiKey: KEY })
        const results = yield* Effect.promise(() =>
          Promise.all(Array.from({ length: 4 }, (_, i) =>
            generateText({
              model: anthropic("claude-sonnet-4-6"),
              maxOutputTokens: 20,
              allowSystemInMessages: true,
              messages: [
                { role: "system", content: SYSTEM + "ai-sdk", providerOptions: { anthropic: { cacheControl: { type: "ephemeral" } } } },
                { role: "user", content: `question ${i}` }
              ]
            })))
        )
        const writes = results.filter((r) => Number(r.providerMetadata?.anthropic?.cacheCreationInputTokens ?? 0) > 0).length
        const reads = results.filter((r) => (r.usage.cachedInputTokens ?? 0) > 0).length
        expect({ writes, reads }).toEqual({ writes: 1, reads: 3 })
      }))

    it.effect("a stream arrives event by event, in order, complete", () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.Proxy
        const types = yield* Effect.promise(async () => {
          const stream = sdk(proxy.url).messages.stream({ model: "claude-sonnet-4-6", max_tokens: 80, messages: [{ role: "user", content: "stream" }] })
          const out: Array<string> = []
          for await (const e of stream) out.push(e.type)
          return out
        })
        expect(types[0]).toBe("message_start")
        expect(types.at(-1)).toBe("message_stop")
        expect(types.filter((t) => t === "content_block_delta").length).toBeGreaterThan(1)
      }))

    it.effect("429 and 529 with retry-after reach the client unchanged; the proxy retries nothing", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const proxy = yield* Proxy.Proxy
        for (const [status, type] of [[429, "rate_limit_error"], [529, "overloaded_error"]] as const) {
          const before = (yield* server.received).length
          yield* server.script([{ _tag: "Error", status, type, message: `scripted ${status}`, retryAfterSeconds: 7 }])
          const error = yield* Effect.promise(() =>
            sdk(proxy.url).messages.create({ model: "claude-sonnet-4-6", max_tokens: 5, messages: [{ role: "user", content: "x" }] }).then(
              () => undefined,
              (e: unknown) => e
            )
          )
          expect(error).toBeInstanceOf(Anthropic.APIError)
          const api = error as InstanceType<typeof Anthropic.APIError>
          expect(api.status).toBe(status)
          expect(api.headers?.get("retry-after")).toBe("7")
          expect((api.error as { error?: { type?: string; message?: string } }).error).toEqual({ type, message: `scripted ${status}` })
          expect((yield* server.received).length - before).toBe(1)
        }
      }))

    it.effect("a client that aborts aborts the upstream call", () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.Proxy
        const sim = yield* SimulatedProvider.Simulator
        yield* Effect.promise(async () => {
          const controller = new AbortController()
          const stream = await sdk(proxy.url).messages.create(
            { model: "claude-sonnet-4-6", max_tokens: 5000, stream: true, messages: [{ role: "user", content: "a long one" }] },
            { signal: controller.signal }
          )
          // gone once the response has begun, while the upstream is still generating
          for await (const e of stream) {
            if (e.type === "message_start") break
          }
          controller.abort()
        })
        yield* until(Effect.map(sim.calls, (calls) => calls.at(-1)?.outcome === "interrupted"))
        expect((yield* sim.calls).at(-1)!.maxTokens).toBe(5000)
      }))

    it.effect("a client that leaves a non-streaming request aborts its upstream call too", () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.Proxy
        const sim = yield* SimulatedProvider.Simulator
        const before = (yield* sim.calls).length
        const controller = new AbortController()
        const pending = sdk(proxy.url).messages.create(
          { model: "claude-sonnet-4-6", max_tokens: 3000, messages: [{ role: "user", content: "a long JSON one" }] },
          { signal: controller.signal }
        ).catch(() => undefined)
        yield* until(Effect.map(sim.calls, (calls) => calls.length > before && calls.at(-1)!.outcome === "pending"))
        controller.abort()
        yield* Effect.promise(() => pending)
        yield* until(Effect.map(sim.calls, (calls) => calls.at(-1)?.outcome === "interrupted"))
      }))

    it.effect("two tenants with the same prompt never share a gate: each writes once", () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.Proxy
        const before = access.length
        const [a, b] = yield* Effect.all([burst(sdk(proxy.url, "tenant-a-key"), 4, "t"), burst(sdk(proxy.url, "tenant-b-key"), 4, "t")], {
          concurrency: "unbounded"
        })
        // one simulated cache behind both: one tenant's leader writes, and whichever comes second
        // either waited for its own leader or read — but neither tenant's requests waited on the other's
        expect(a.writes + b.writes).toBeGreaterThanOrEqual(1)
        yield* logged(before + 8)
        const tenants = access.slice(before).map((l) => l.gate)
        expect(tenants.filter((g) => g === "led")).toHaveLength(2)
      }))

    it.effect("the key never appears in what the proxy says, and reaches the upstream unchanged", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        expect(JSON.stringify(access)).not.toContain(KEY)
        const received = yield* server.received
        expect(received.some((r) => r.apiKeySha256 === SimulatorServer.keyDigest(KEY))).toBe(true)
      }))

    it.effect("other paths pass through untouched: count_tokens and the models list", () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.Proxy
        const before = access.length
        const counted = yield* Effect.promise(() =>
          sdk(proxy.url).messages.countTokens({ model: "claude-sonnet-4-6", messages: [{ role: "user", content: "count me" }] })
        )
        expect(counted.input_tokens).toBeGreaterThan(0)
        const models = yield* Effect.promise(() => sdk(proxy.url).models.list())
        expect(models.data.map((m) => m.id)).toContain("claude-sonnet-4-6")
        yield* logged(before + 2)
        expect(access.filter((l) => l.gate === "passthrough").map((l) => l.path)).toEqual(
          expect.arrayContaining(["/v1/messages/count_tokens", "/v1/models"])
        )
      }))
  })

  layer(Layer.provideMerge(proxyLayer(WarmRegistry.layerMemory(), 4096), Serve), { excludeTestServices: true })("limits", (it) => {
    it.effect("a body over the limit is a 413 in the API's shape, declared or streamed; nothing goes upstream", () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.Proxy
        const server = yield* SimulatorServer.SimulatorServer
        const before = (yield* server.received).length
        const body = JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: 5, messages: [{ role: "user", content: "x".repeat(10_000) }] })
        const headers = { "content-type": "application/json", "x-api-key": KEY, "anthropic-version": "2023-06-01" }
        const declared = yield* Effect.promise(() =>
          fetch(`${proxy.url}/v1/messages`, { method: "POST", headers, body }).then(async (r) => ({ status: r.status, body: await r.json() }))
        )
        const chunked = yield* Effect.promise(() =>
          fetch(`${proxy.url}/v1/messages`, {
            method: "POST",
            headers,
            body: new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(body)), c.close()) }),
            duplex: "half"
          } as RequestInit).then(async (r) => ({ status: r.status, body: await r.json() }))
        )
        for (const r of [declared, chunked]) {
          expect(r.status).toBe(413)
          expect(r.body).toMatchObject({ type: "error", error: { type: "request_too_large" } })
        }
        expect((yield* server.received).length).toBe(before)
      }))
  })

  layer(Layer.provideMerge(proxyLayer(WarmRegistry.layerMemory(), undefined, undefined, true), Serve), { excludeTestServices: true })("--stream-leaders", (it) => {
    it.effect("a JSON leader is streamed upstream and assembled: its waiters go at its first byte, its client gets the whole message", () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.Proxy
        const sim = yield* SimulatedProvider.Simulator
        const from = (yield* sim.calls).length
        const system = [{ type: "text" as const, text: SYSTEM + "stream-leaders", cache_control: { type: "ephemeral" as const } }]
        const ask = (i: number) =>
          sdk(proxy.url).messages.create({ model: "claude-sonnet-4-6", max_tokens: 150, system, messages: [{ role: "user", content: `question ${i}` }] })
        const responses = yield* Effect.promise(() => Promise.all([0, 1, 2, 3].map(ask)))
        const calls = (yield* sim.calls).slice(from)
        const leader = calls.find((c) => (c.usage?.cacheCreation5m ?? 0) >= 1_000)!
        const waiters = calls.filter((c) => c !== leader)
        // the leader went streamed, the waiters as their clients sent them, between its begin and its end
        expect(leader.streamed).toBe(true)
        expect(waiters.every((c) => !c.streamed && c.startedAt >= leader.begunAt! && c.startedAt < leader.completedAt!)).toBe(true)
        expect(waiters.every((c) => (c.usage?.cacheRead ?? 0) > 0)).toBe(true)
        // every client got the non-streaming API's message, the leader's assembled from its stream
        for (const r of responses) {
          expect(r.type).toBe("message")
          expect(r.content[0]?.type).toBe("text")
          expect(r.content[0]?.type === "text" ? r.content[0].text.length : 0).toBeGreaterThan(0)
          expect(r.stop_reason).toBe("max_tokens")
          expect(r.usage.output_tokens).toBe(150)
        }
        const written = responses.find((r) => (r.usage.cache_creation_input_tokens ?? 0) > 0)!
        expect(written.usage.cache_creation_input_tokens).toBe(leader.usage!.cacheCreation5m)
        expect(written.id).toBe(leader.id)
      }))

    it.effect("a leader's stream that reports an error after its 200 reaches its JSON client as that error, not as a partial message", () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.Proxy
        const server = yield* SimulatorServer.SimulatorServer
        yield* server.script([{ _tag: "StreamError", type: "overloaded_error", message: "scripted mid-stream" }])
        const system = [{ type: "text" as const, text: SYSTEM + "stream-error", cache_control: { type: "ephemeral" as const } }]
        const failed = yield* Effect.promise(() =>
          sdk(proxy.url).messages.create({ model: "claude-sonnet-4-6", max_tokens: 20, system, messages: [{ role: "user", content: "q" }] })
            .then(() => undefined, (e: unknown) => e)
        )
        expect(failed).toBeInstanceOf(Anthropic.APIError)
        expect((failed as InstanceType<typeof Anthropic.APIError>).status).toBe(529)
        expect(String((failed as Error).message)).toContain("scripted mid-stream")
      }))

    it.effect("a forced tool call assembles its input from the streamed JSON deltas", () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.Proxy
        const sim = yield* SimulatedProvider.Simulator
        const from = (yield* sim.calls).length
        const system = [{ type: "text" as const, text: SYSTEM + "tool-leader", cache_control: { type: "ephemeral" as const } }]
        const tools = [{ name: "lookup", description: "look up", input_schema: { type: "object" as const, properties: { city: { type: "string" } }, required: ["city"] } }]
        const responses = yield* Effect.promise(() =>
          Promise.all([0, 1].map((i) =>
            sdk(proxy.url).messages.create({
              model: "claude-sonnet-4-6",
              max_tokens: 100,
              system,
              tools,
              tool_choice: { type: "tool", name: "lookup" },
              messages: [{ role: "user", content: `where ${i}` }]
            })))
        )
        for (const r of responses) {
          const call = r.content.find((b) => b.type === "tool_use")
          expect(call?.type === "tool_use" ? call.name : undefined).toBe("lookup")
          expect(call?.type === "tool_use" ? typeof (call.input as { city?: unknown }).city : undefined).toBe("string")
          expect(r.stop_reason).toBe("tool_use")
        }
        // one of the two — the leader — went streamed: its tool input came as JSON deltas
        expect((yield* sim.calls).slice(from).filter((c) => c.streamed)).toHaveLength(1)
      }))
  })

  layer(Layer.provideMerge(proxyLayer(WarmRegistry.layerMemory(), undefined, 2), Serve), { excludeTestServices: true })("per-tenant cap", (it) => {
    it.effect("a tenant has at most its cap of upstream calls in flight; another tenant is not held up", () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.Proxy
        const sim = yield* SimulatedProvider.Simulator
        const ask = (key: string, i: number) =>
          sdk(proxy.url, key).messages.create({ model: "claude-sonnet-4-6", max_tokens: 50, messages: [{ role: "user", content: `${key} ${i}` }] })
        yield* Effect.promise(() => Promise.all([...Array.from({ length: 6 }, (_, i) => ask("tenant-a", i)), ask("tenant-b", 0)]))
        const calls = yield* sim.calls
        /** the most calls in flight at one instant: a sweep over the starts and ends */
        const overlap = (mine: ReadonlyArray<SimulatedProvider.CallRecord>) => {
          const events = mine.flatMap((c) => [[c.startedAt, 1], [c.completedAt!, -1]] as const)
            .slice().sort((x, y) => x[0] - y[0] || x[1] - y[1])
          let now = 0
          let most = 0
          for (const [, step] of events) most = Math.max(most, (now += step))
          return most
        }
        // two of tenant a's and tenant b's one at a time, at most
        expect(calls).toHaveLength(7)
        const first = Math.min(...calls.map((c) => c.startedAt))
        const spans = JSON.stringify(calls.map((c) => [c.startedAt - first, (c.completedAt ?? NaN) - first, c.outcome]))
        expect(overlap(calls), spans).toBeLessThanOrEqual(3)
        // tenant b's one request started with the first wave, not after tenant a's queue
        const started = calls.map((c) => c.startedAt - first).sort((x, y) => x - y)
        expect(started.filter((t) => t < 100)).toHaveLength(3)
      }))
  })

  layer(Stack, { excludeTestServices: true })("OpenAI's wire", (it) => {
    it.effect("the openai SDK on /v1/chat/completions: 5 concurrent over one explicit breakpoint, 1 write and 4 reads", () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.Proxy
        const client = new OpenAI({ apiKey: KEY, baseURL: `${proxy.url}/v1`, maxRetries: 0 })
        const responses = yield* Effect.promise(() =>
          Promise.all(Array.from({ length: 5 }, (_, i) =>
            client.chat.completions.create({
              model: "gpt-5.6-terra",
              max_completion_tokens: 20,
              messages: [
                { role: "developer", content: [{ type: "text", text: SYSTEM, prompt_cache_breakpoint: { mode: "explicit" } }] },
                { role: "user", content: `question ${i}` }
              ]
            })))
        )
        const details = responses.map((r) => r.usage!.prompt_tokens_details!)
        expect(details.filter((d) => (d.cached_tokens ?? 0) === 0 && (d.cache_write_tokens ?? 0) > 1000)).toHaveLength(1)
        expect(details.filter((d) => (d.cached_tokens ?? 0) > 1000)).toHaveLength(4)
      }))
  })
})

const redisUrl = process.env.REDIS_URL
describe.skipIf(redisUrl === undefined || redisUrl === "")("two proxies sharing Redis", () => {
  layer(Serve, { excludeTestServices: true })("replicas", (it) => {
    it.effect("a cold prefix is written once across two proxy replicas", () =>
      Effect.gen(function*() {
        const registry = RedisRegistry.layer({ url: redisUrl!, keyPrefix: `epc-proxy-test-${randomUUID()}` })
        const one = yield* Layer.build(proxyLayer(registry))
        const two = yield* Layer.build(proxyLayer(registry))
        const urls = [Context.get(one, Proxy.Proxy).url, Context.get(two, Proxy.Proxy).url]
        const results = yield* Effect.all(urls.map((u) => burst(sdk(u), 4, "replicas")), { concurrency: "unbounded" })
        expect(results.reduce((n, r) => n + r.writes, 0)).toBe(1)
        expect(results.reduce((n, r) => n + r.reads, 0)).toBe(7)
      }).pipe(Effect.scoped))
  })
})
