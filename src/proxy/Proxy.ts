/**
 * The caching proxy: single-flight cache warming for any app, which only changes its base URL
 * (`ANTHROPIC_BASE_URL`, `OPENAI_BASE_URL`). `POST /v1/messages` and `POST /v1/chat/completions` go
 * through the core's `CacheWarmer` gate — keyed by tenant and by the fingerprint of each prefix the
 * request asks to cache —, so a cold prefix is written once and every concurrent request over it waits
 * for that write to begin, then reads it. Every other path passes through untouched. The body goes
 * upstream byte for byte as the client sent it, and the answer comes back as it arrives.
 *
 * Tenant = an HMAC of the client's key under the proxy's secret (the same on every replica): two
 * tenants never share a gate or a registry entry, and no key is kept, logged or sent to Redis.
 *
 * @since 0.2.0
 */
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import Undici from "@effect/platform-node/Undici"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { createHmac } from "node:crypto"
import { createServer } from "node:http"
import { asPlanned } from "../BreakpointPlanner.js"
import { readBounded } from "../internal/body.js"
import type { Planned } from "../BreakpointPlanner.js"
import { CacheMetrics } from "../CacheMetrics.js"
import type { GateOutcome } from "../CacheWarmer.js"
import * as CacheWarmer from "../CacheWarmer.js"
import { LanguageModel } from "../LanguageModel.js"
import { decodeChatRequest } from "../openai/ChatWire.js"
import { fromChatRequest } from "../openai/Translation.js"
import { costMicros, microsToUsd, Pricing } from "../Pricing.js"
import type { MessagesRequest } from "../Prompt.js"
import { decodeRequest } from "../Prompt.js"
import type { ProviderError } from "../ProviderError.js"
import { ConnectionError } from "../ProviderError.js"
import type { Response } from "../Response.js"
import { annotate, GenAi, PromptCache, usageAttributes, withSpan } from "../Telemetry.js"
import * as RetryPolicy from "../RetryPolicy.js"
import type { WarmRegistry } from "../WarmRegistry.js"
import type { Exchange } from "./Upstream.js"
import * as Upstream from "./Upstream.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface ProxyOptions {
  /** 0 picks a free port (default 8788) */
  readonly port?: number | undefined
  /** default 127.0.0.1: this machine only */
  readonly host?: string | undefined
  /** default `https://api.anthropic.com` */
  readonly anthropicUpstream?: string | undefined
  /** default `https://api.openai.com` */
  readonly openaiUpstream?: string | undefined
  /** how long a waiter waits for a leader before it goes uncached (default 60,000 ms) */
  readonly maxWaitMs?: number | undefined
  /** the HMAC secret that turns a client's key into its tenant; the same on every replica */
  readonly tenantSecret: Redacted.Redacted<string> | string
  /** the largest request body accepted (default 32 MiB, the API's) */
  readonly maxBodyBytes?: number | undefined
  /** on shutdown, how long the calls in flight may take to finish (default 10,000 ms) */
  readonly graceMs?: number | undefined
  /**
   * the most upstream calls one tenant has in flight at once (streams until their end); the others
   * wait their turn (default: no cap). Waiting at the gate holds none.
   */
  readonly maxConcurrentPerTenant?: number | undefined
  /**
   * a non-streaming Anthropic request that others wait for (a leader) is sent streamed — its body
   * gains `"stream": true`, the one change the proxy makes to a body, opt-in — and its answer
   * assembled into the JSON message its client asked for, so its waiters go at the first byte rather
   * than at its end (default false)
   */
  readonly streamLeaders?: boolean | undefined
  /**
   * how the upstream is reached (an undici `Dispatcher`); default: a keep-alive `Agent` of the
   * proxy's own, closed with it
   */
  readonly dispatcher?: Undici.Dispatcher | undefined
  /** one line per request (no bodies, no keys) */
  readonly onAccess?: ((line: AccessLine) => Effect.Effect<void>) | undefined
}

/**
 * What the access log says about one request.
 *
 * @since 0.2.0
 * @category models
 */
export interface AccessLine {
  readonly method: string
  readonly path: string
  readonly model: string | undefined
  readonly status: number
  /** what the gate did: `passthrough` for paths the proxy does not gate */
  readonly gate: GateOutcome | "passthrough"
  readonly tokens: { readonly input: number; readonly cacheWrite: number; readonly cacheRead: number; readonly output: number } | undefined
  readonly costUsd: number | undefined
  /** a waiter that read its prefix: the write it avoided, priced (at the 5-minute write price) */
  readonly savedUsd: number | undefined
  readonly latencyMs: number
}

/**
 * @since 0.2.0
 * @category models
 */
export interface ProxyService {
  /** `http://host:port` */
  readonly url: string
  readonly port: number
}

/**
 * @since 0.2.0
 * @category tags
 */
export class Proxy extends Context.Tag("effect-prompt-cache/Proxy")<Proxy, ProxyService>() {}

/** fails (with a ConnectionError) when the client closes the connection before its answer ended */
const clientGone = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.async<never, ConnectionError>((resume) => {
    const response = NodeHttpServerRequest.toServerResponse(request)
    const onClose = () => {
      if (!response.writableEnded) resume(Effect.fail(new ConnectionError({ detail: "the client closed the connection" })))
    }
    if (response.destroyed) onClose()
    response.on("close", onClose)
    return Effect.sync(() => void response.off("close", onClose))
  })

/** the tenant of a key: its HMAC under the proxy's secret, never the key */
export const tenantOf = (secret: string, key: string): string => createHmac("sha256", secret).update(key).digest("hex").slice(0, 24)

const keyOf = (headers: Readonly<Record<string, string | undefined>>): string =>
  headers["x-api-key"] ?? /^Bearer\s+(.+)$/i.exec(headers["authorization"] ?? "")?.[1] ?? "anonymous"

/** whether the body holds the bytes of `needle` (searched in place, not decoded) */
const includes = (haystack: Uint8Array, needle: string): boolean =>
  Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).includes(needle)

/**
 * Whether a body asks to cache anything: a `cache_control` (Anthropic) or a `prompt_cache_breakpoint`
 * (OpenAI) anywhere in it. A body without one has no breakpoint, so no prefix for the gate to key.
 */
const marksCache = (wire: "anthropic" | "openai", body: Uint8Array): boolean =>
  includes(body, wire === "anthropic" ? "cache_control" : "prompt_cache_breakpoint")

/** the request the gate can key, or none: a body the proxy cannot read goes through ungated, unchanged */
const gateable = (wire: "anthropic" | "openai", json: unknown): Effect.Effect<MessagesRequest | undefined> =>
  wire === "anthropic"
    ? Effect.map(Effect.either(decodeRequest(json)), Either.getOrUndefined)
    : Effect.map(Effect.either(decodeChatRequest(json)), (decoded) =>
      Either.isLeft(decoded) ? undefined : Either.getOrUndefined(fromChatRequest(decoded.right)))

/**
 * Serves the proxy while the scope lives. Needs `CacheMetrics`, `WarmRegistry` (in memory, or the
 * Redis wing's, shared by replicas with its establishing lock) and `Pricing`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: ProxyOptions) =>
  Effect.gen(function*() {
    // the upstream's connections: closed last, after the calls in flight have finished
    const dispatcher = options.dispatcher ?? (yield* Effect.acquireRelease(
      Effect.sync(() => new Undici.Agent()),
      (agent) => Effect.promise(() => agent.destroy())
    ))
    const pricing = yield* Pricing
    const metrics = yield* CacheMetrics
    const upstream = Upstream.make(dispatcher)
    // the proxy retries nothing: the client's SDK does
    const warmer = yield* CacheWarmer.make({ policy: "auto", retry: RetryPolicy.none, maxWaitMs: options.maxWaitMs ?? 60_000 }).pipe(
      Effect.provideService(LanguageModel, upstream)
    )
    const secret = typeof options.tenantSecret === "string" ? options.tenantSecret : Redacted.value(options.tenantSecret)
    const anthropicBase = (options.anthropicUpstream ?? "https://api.anthropic.com").replace(/\/+$/, "")
    const openaiBase = (options.openaiUpstream ?? "https://api.openai.com").replace(/\/+$/, "")
    const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024
    /** calls not finished yet, streams included: what a shutdown waits for */
    let inFlight = 0
    const cap = options.maxConcurrentPerTenant
    /** each tenant's permits, the least recently used tenant's dropped past 10,000 */
    const permits = new Map<string, Effect.Semaphore>()
    const permitOf = (tenant: string): Exchange["permit"] => {
      if (cap === undefined) return (call) => call
      let semaphore = permits.get(tenant)
      if (semaphore === undefined) {
        if (permits.size >= 10_000) permits.delete(permits.keys().next().value!)
        semaphore = Effect.unsafeMakeSemaphore(cap)
      } else permits.delete(tenant)
      permits.set(tenant, semaphore)
      return semaphore.withPermits(1)
    }

    /** a request that did not get an answer from the upstream (the proxy's own failure) */
    const failed = (error: ProviderError) =>
      HttpServerResponse.unsafeJson({ type: "error", error: { type: "api_error", message: `the proxy failed: ${error._tag}` } }, { status: 502 })

    const app = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const started = Date.now()
      const url = new URL(request.url, "http://proxy")
      const path = url.pathname
      // the rest of an over-long body is drained unread (memory stays bounded, and the client reads
      // the answer instead of a reset), and the connection closed after the answer
      const incoming = NodeHttpServerRequest.toIncomingMessage(request)
      const tooLarge = Effect.sync(() => {
        incoming.resume()
        return HttpServerResponse.unsafeJson(
          { type: "error", error: { type: "request_too_large", message: `the request body exceeds the maximum of ${maxBodyBytes} bytes` } },
          { status: 413, headers: { connection: "close" } }
        )
      })
      // a declared length over the limit is refused unread; an undeclared one is read up to the limit
      if (Number(request.headers["content-length"] ?? "0") > maxBodyBytes) return yield* tooLarge
      const read = request.method === "GET" || request.method === "HEAD"
        ? Effect.succeed(new Uint8Array(0))
        : readBounded(incoming, maxBodyBytes)
      const bytes = yield* Effect.either(read)
      if (Either.isLeft(bytes)) return bytes.left === "too_large" ? yield* tooLarge : HttpServerResponse.empty({ status: 400 })
      const body = bytes.right
      const wire = path === "/v1/messages" && request.method === "POST"
        ? "anthropic" as const
        : path === "/v1/chat/completions" && request.method === "POST"
        ? "openai" as const
        : "other" as const
      // which upstream: OpenAI's paths and clients (a Bearer key, no anthropic-version) go to OpenAI
      const toOpenAI = wire === "openai" ||
        (wire === "other" && request.headers["anthropic-version"] === undefined && request.headers["x-api-key"] === undefined)
      const tenant = tenantOf(secret, keyOf(request.headers))
      const exchange: Exchange = {
        wire,
        method: request.method,
        url: `${toOpenAI ? openaiBase : anthropicBase}${path}${url.search}`,
        headers: Upstream.passHeaders(request.headers),
        body,
        respond: yield* Deferred.make<HttpServerResponse.HttpServerResponse>(),
        clientGone: clientGone(request),
        permit: permitOf(tenant)
      }
      let gate: AccessLine["gate"] = "passthrough"
      // a body that asks to cache nothing has nothing to gate: it goes straight through, unparsed
      const asks = wire !== "other" && marksCache(wire, body)
      const json = asks ? Upstream.parse(new TextDecoder().decode(body)) : undefined
      const messages = asks ? yield* gateable(wire as "anthropic" | "openai", json) : undefined
      const streamLeader = options.streamLeaders === true && wire === "anthropic" && messages !== undefined && json?.stream !== true
      const tagged = {
        ...(messages ?? { model: "", max_tokens: 0, messages: [] }),
        [Upstream.EXCHANGE]: streamLeader ? { ...exchange, streamLeader } : exchange
      } as MessagesRequest
      let call: Effect.Effect<Response, ProviderError>
      if (messages === undefined) {
        call = upstream.create(tagged)
      } else {
        const planned = asPlanned(tagged)
        const scoped: Planned = {
          request: tagged,
          breakpoints: planned.breakpoints.map((b) => ({ ...b, fingerprint: `${wire}:${tenant}|${b.fingerprint}` }))
        }
        call = warmer.requestObserved(scoped, (outcome) => void (gate = outcome))
      }
      // the call runs on past this handler (a stream's usage is read until its end), but no longer than
      // its client stays: one that leaves while its request waits at the gate or is answered interrupts
      // it. When it ends, it answers the client if it has not yet (its own failure), then records and
      // logs what it cost — one fiber per request beside the platform's, no races: the proxy's CPU
      // goes to fibers first (docs/benchmarks.md)
      inFlight++
      // a span per proxied request (made only when tracing is on), the gate's and the call's under it
      const fiber = yield* Effect.forkDaemon(Effect.onExit(call, (exit) =>
        Deferred.succeed(exchange.respond, Exit.isFailure(exit) ? failedOf(exit) : HttpServerResponse.empty({ status: 502 })).pipe(
          Effect.zipRight(Effect.flatMap(Deferred.await(exchange.respond), (answered) => record(exit, answered.status))),
          Effect.ensuring(Effect.sync(() => void inFlight--))
        )).pipe(
          withSpan("prompt_cache.proxy", () => ({
            kind: "server",
            attributes: {
              "http.request.method": request.method,
              "url.path": path,
              ...(messages !== undefined ? { [GenAi.requestModel]: messages.model } : {})
            }
          }))
        ))
      const nodeResponse = NodeHttpServerRequest.toServerResponse(request)
      const onClose = () => void (nodeResponse.writableEnded || fiber.unsafeInterruptAsFork(FiberId.none))
      if (nodeResponse.destroyed) onClose()
      else nodeResponse.once("close", onClose)
      const response = yield* Deferred.await(exchange.respond)
      /** what the call cost, into the metrics and the access log */
      function record(exit: Exit.Exit<Response, ProviderError>, status: number) {
        const usage = Exit.isSuccess(exit) ? exit.value.usage : undefined
        const model = messages?.model
        const price = model === undefined ? undefined : pricing.lookup(model)
        const m = model === undefined ? undefined : pricing.multipliers(model)
        const savedMicros = gate === "waited" && usage !== undefined && price !== undefined && price._tag === "Some" && m !== undefined
          ? price.value.input * usage.cacheRead * (m.write5m - m.read)
          : undefined
        const line: AccessLine = {
          method: request.method,
          path,
          model,
          status,
          gate,
          tokens: usage === undefined ? undefined : {
            input: usage.input,
            cacheWrite: usage.cacheCreation5m + usage.cacheCreation1h,
            cacheRead: usage.cacheRead,
            output: usage.output
          },
          costUsd: usage === undefined || price === undefined || price._tag === "None" ? undefined : microsToUsd(costMicros(usage, price.value)),
          savedUsd: savedMicros === undefined ? undefined : microsToUsd(savedMicros),
          latencyMs: Date.now() - started
        }
        const traced = annotate(() => ({
          [PromptCache.gate]: gate,
          "http.response.status_code": status,
          ...(usage === undefined ? {} : usageAttributes(usage)),
          ...(line.costUsd === undefined ? {} : { [PromptCache.costUsd]: line.costUsd })
        }))
        return Effect.zipRight(
          // a gated request's outcome is recorded by the warmer; a path the proxy does not gate, here
          Effect.zipRight(traced, gate === "passthrough" ? metrics.recordGate(gate) : Effect.void),
          options.onAccess === undefined ? Effect.void : options.onAccess(line)
        )
      }
      return response
    })

    const failedOf = (exit: Exit.Exit<Response, ProviderError>): HttpServerResponse.HttpServerResponse =>
      Exit.match(exit, {
        onFailure: (cause) => {
          const error = cause._tag === "Fail" ? cause.error : undefined
          return error === undefined ? HttpServerResponse.empty({ status: 502 }) : failed(error)
        },
        onSuccess: () => HttpServerResponse.empty({ status: 502 })
      })

    let node: ReturnType<typeof createServer> | undefined
    const server = yield* NodeHttpServer.make(() => (node = createServer()), { port: options.port ?? 8788, host: options.host ?? "127.0.0.1" })
    // no spans of the platform's own per request: they cost the proxy about a tenth of its CPU (a CPU profile, docs/benchmarks.md); the proxy's own tracing is issue 20's
    yield* HttpServer.serveEffect(Effect.interruptible(app)).pipe(
      HttpMiddleware.withTracerDisabledWhenEffect(() => true),
      Effect.provideService(HttpServer.HttpServer, server)
    )
    // shutting down (SIGTERM, the scope closing): accept nothing new, let the calls in flight finish —
    // streams included — for up to `graceMs`, then cut what is left. Registered last, so it runs first.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        node?.close()
        // finalizers run uninterruptibly: the wait is made interruptible so that its timeout can end it
        return Effect.interruptible(
          Effect.repeat(Effect.sync(() => inFlight), { until: (n) => n === 0, schedule: Schedule.spaced("20 millis") })
        ).pipe(
          Effect.timeout(Duration.millis(options.graceMs ?? 10_000)),
          Effect.ignore,
          Effect.zipRight(Effect.sync(() => node?.closeAllConnections()))
        )
      }))
    const address = server.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return Proxy.of({ url: `http://${options.host ?? "127.0.0.1"}:${port}`, port })
  })

/**
 * The proxy as a scoped layer: it listens while the layer lives.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: ProxyOptions
): Layer.Layer<Proxy, never, CacheMetrics | WarmRegistry | Pricing> =>
  Layer.scoped(Proxy, Effect.orDie(make(options)))
