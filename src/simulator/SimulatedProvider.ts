/**
 * An in-process provider that behaves like the Anthropic Messages API's prompt cache — or, for an
 * OpenAI model (its price row's `caching`), like OpenAI's (`OpenAICache`: routing by prefix and
 * `prompt_cache_key`, automatic caching before GPT-5.6, breakpoints after) —: prefix order
 * tools → system → messages, explicit and automatic breakpoints, the 20-position lookback, writes only
 * at breakpoints, per-model minimum cacheable length, 5m/1h TTLs refreshed on read, entries readable
 * only once the writing request's response has begun, `max_tokens: 0` warm calls, the API's validation
 * errors, a latency model on Effect's `Clock`, seeded fault injection and a log of every call.
 *
 * It provides {@link LanguageModel} and {@link Simulator} (the inspection API). Under `TestClock` its
 * latency costs no wall time.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { StoreMiss } from "./CacheStore.js"
import { LruMap } from "../internal/lru.js"
import * as MissDiagnosis from "../MissDiagnosis.js"
import { CacheStore, commit, diagnose, plan, writing } from "./CacheStore.js"
import * as ContextEditing from "./ContextEditing.js"
import type { OpenAICacheConfig } from "./OpenAICache.js"
import * as OpenAICache from "./OpenAICache.js"
import type { LanguageModelService } from "../LanguageModel.js"
import { LanguageModel, route } from "../LanguageModel.js"
import { OpenAIClient } from "../openai/OpenAIClient.js"
import * as OpenAIProvider from "../openai/OpenAIProvider.js"
import type { ShardingOptions } from "../openai/PromptCacheKeys.js"
import * as SimulatedOpenAI from "./SimulatedOpenAI.js"
import { breakpoints, positions, totalTokens } from "../Prefix.js"
import type { PriceTable } from "../Pricing.js"
import { cachingOf, defaultTable, isOpenAIModel, limitsOf, lookup } from "../Pricing.js"
import type { MessagesRequest } from "../Prompt.js"
import { violations } from "../PromptValidation.js"
import type { ProviderError } from "../ProviderError.js"
import { ConnectionError, InvalidPrompt, NotFound, Overloaded, RateLimited, ServerError, Timeout } from "../ProviderError.js"
import type { Response, StreamEvent, Usage } from "../Response.js"
import { prng } from "../internal/prng.js"

/**
 * Latency model: time to first token = `baseMs` + `uncachedMsPer1k` × uncached input (plain input and
 * cache writes, in thousands of tokens) + `cachedMsPer1k` × cache reads; then `outputMsPerToken` per
 * generated token. The defaults reproduce Anthropic's published figures: a 100k-token prompt takes
 * 11.5 s to first token uncached and 2.4 s cached; a 10k-token prompt 1.6 s uncached.
 *
 * @since 0.1.0
 * @category models
 */
export interface LatencyModel {
  readonly baseMs: number
  readonly uncachedMsPer1k: number
  readonly cachedMsPer1k: number
  readonly outputMsPerToken: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultLatency: LatencyModel = { baseMs: 500, uncachedMsPer1k: 110, cachedMsPer1k: 19, outputMsPerToken: 15 }

/**
 * A latency model where everything is instant (for overhead benchmarks).
 *
 * @since 0.1.0
 * @category constants
 */
export const zeroLatency: LatencyModel = { baseMs: 0, uncachedMsPer1k: 0, cachedMsPer1k: 0, outputMsPerToken: 0 }

/**
 * Seeded fault injection: each rate is the probability that one call fails that way.
 *
 * @since 0.1.0
 * @category models
 */
export interface Faults {
  readonly seed?: number | undefined
  /** 429 with `retry-after` */
  readonly rateLimited?: number | undefined
  /** 529 */
  readonly overloaded?: number | undefined
  /** 500 */
  readonly serverError?: number | undefined
  /** connection reset after the response has begun (mid-stream) */
  readonly connectionReset?: number | undefined
  /** the request times out before the response begins */
  readonly timeout?: number | undefined
  /** the `retry-after` a 429 carries (default 1,000 ms) */
  readonly retryAfterMs?: number | undefined
  /** how long a timed-out request hangs before failing (default 10,000 ms) */
  readonly timeoutMs?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SimulatorConfig {
  readonly latency?: Partial<LatencyModel> | undefined
  /** models the simulator knows, with their minimum cacheable length (default: the price table) */
  readonly models?: PriceTable | undefined
  /** tokens generated for a request (capped by its `max_tokens`); default 100 */
  readonly outputTokens?: ((request: MessagesRequest) => number) | undefined
  readonly faults?: Faults | undefined
  /** positions a read walks back from a breakpoint (default 20) */
  readonly lookbackBlocks?: number | undefined
  /** bound on stored cache entries, least recently used first out (default 100,000) */
  readonly maxEntries?: number | undefined
  /**
   * calls kept in the call log, the oldest dropped first (default: all of them, for tests and the soak;
   * a long-running server sets a bound)
   */
  readonly callLogLimit?: number | undefined
  /** OpenAI's cache rules: routing, lifetimes, when a write becomes readable (docs/openai.md) */
  readonly openai?: OpenAICacheConfig | undefined
  /** the OpenAI provider's `prompt_cache_key` management over the simulator (default on) */
  readonly openaiKeys?: ShardingOptions | false | undefined
}

/**
 * One call as the simulator saw it.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallRecord {
  readonly id: string
  readonly requestId: string
  readonly model: string
  readonly maxTokens: number
  readonly streamed: boolean
  readonly promptTokens: number
  /** fingerprint of the prefix up to the request's last breakpoint, if it has one */
  readonly prefixFingerprint: string | undefined
  readonly startedAt: number
  begunAt: number | undefined
  completedAt: number | undefined
  usage: Usage | undefined
  outcome: "pending" | "success" | "interrupted" | ProviderError["_tag"]
  /** why what it wrote could not be read, from the simulator's own store (Anthropic's rules only) */
  misses: ReadonlyArray<StoreMiss>
}

/**
 * The inspection API of the simulator.
 *
 * @since 0.1.0
 * @category models
 */
export interface SimulatorService {
  /** every call so far, in arrival order */
  readonly calls: Effect.Effect<ReadonlyArray<CallRecord>>
  /** live cache entries */
  readonly cacheSize: Effect.Effect<number>
  /** forget every cache entry (a cold cache), keeping the call log */
  readonly flushCache: Effect.Effect<void>
  /** count_tokens as the simulator counts */
  readonly countTokens: (request: MessagesRequest) => number
  /** the model ids it serves (its price table's) */
  readonly models: ReadonlyArray<string>
  /** its price table (each model's `caching` says whose rules it follows) */
  readonly table: PriceTable
  /**
   * the simulator itself, taking every request in the library's request model: the `LanguageModel`
   * of the layer sends OpenAI models through the OpenAI provider on top of it
   */
  readonly direct: LanguageModelService
  /**
   * `direct` in a cache of its own: a cloud platform's region and account or project (the server's
   * Bedrock and Vertex routes), whose entries no other namespace reads
   */
  readonly in: (namespace: string) => LanguageModelService
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Simulator extends Context.Tag("effect-prompt-cache/Simulator")<Simulator, SimulatorService>() {}

type Fault = "rateLimited" | "overloaded" | "serverError" | "connectionReset" | "timeout"

type Begun = Extract<StreamEvent, { readonly _tag: "Begun" }> & { readonly usage: Usage }

const FILLER = "The quick brown fox jumps over the lazy dog. "

/** the text of a streamed answer as the deltas the API would send: a few words each */
const textDeltas = (text: string): ReadonlyArray<StreamEvent> => {
  const out: Array<StreamEvent> = []
  for (let i = 0; i < text.length; i += 48) out.push({ _tag: "TextDelta", text: text.slice(i, i + 48) })
  return out
}

/** the tool a forced `tool_choice` names (`{type: "tool", name}`), or the first tool (`{type: "any"}`) */
const forcedTool = (request: MessagesRequest): { readonly name: string; readonly input_schema: unknown } | undefined => {
  const choice = request.tool_choice as { readonly type?: unknown; readonly name?: unknown } | undefined
  const tools = (request.tools ?? []) as ReadonlyArray<{ readonly name: string; readonly input_schema: unknown }>
  if (choice?.type === "tool") return tools.find((t) => t.name === choice.name)
  if (choice?.type === "any") return tools[0]
  return undefined
}

/**
 * The smallest value valid against a JSON schema, as far as tool input schemas go: an object with its
 * required properties, the first of an enum or a union, a string of `minLength`, a number at its
 * minimum, an array of `minItems`.
 *
 * @since 0.1.0
 * @category utils
 */
export const minimalInstance = (schema: unknown, depth = 0): unknown => {
  if (typeof schema !== "object" || schema === null || depth > 16) return null
  const s = schema as Record<string, unknown>
  if ("const" in s) return s.const
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0]
  for (const union of ["anyOf", "oneOf", "allOf"]) {
    const options = s[union]
    if (Array.isArray(options) && options.length > 0) return minimalInstance(options[0], depth + 1)
  }
  const type = Array.isArray(s.type) ? s.type[0] : s.type
  switch (type) {
    case "string":
      return "x".repeat(typeof s.minLength === "number" ? s.minLength : 0)
    case "integer":
    case "number":
      return typeof s.minimum === "number" ? s.minimum : typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum + 1 : 0
    case "boolean":
      return false
    case "null":
      return null
    case "array": {
      const n = typeof s.minItems === "number" ? s.minItems : 0
      return Array.from({ length: n }, () => minimalInstance(s.items, depth + 1))
    }
    default: {
      const properties = (s.properties ?? {}) as Record<string, unknown>
      const required = Array.isArray(s.required) ? (s.required as ReadonlyArray<string>) : []
      return Object.fromEntries(required.map((key) => [key, minimalInstance(properties[key], depth + 1)]))
    }
  }
}

/**
 * Builds a simulator.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: SimulatorConfig = {}) =>
  Effect.sync(() => {
    const latency: LatencyModel = { ...defaultLatency, ...config.latency }
    const models = config.models ?? defaultTable
    const lookback = config.lookbackBlocks ?? 20
    const outputTokens = config.outputTokens ?? (() => 100)
    const faults = config.faults ?? {}
    const random = prng(faults.seed ?? 1)
    const store = new CacheStore(config.maxEntries ?? 100_000)
    const log: Array<CallRecord> = []
    const callLogLimit = config.callLogLimit ?? Number.POSITIVE_INFINITY
    const openai = config.openai ?? {}
    const router = new OpenAICache.Router(openai.routingLimitPerMinute ?? 15)
    const readableOnArrival = openai.readableWhen === "request-received"
    let counter = 0
    /** what the API's cache diagnosis keeps of each request, by its response's id */
    const prints = new LruMap<string, MissDiagnosis.RequestPrint>(config.maxEntries ?? 100_000)
    /** a request that asks (`diagnostics` in its body) is compared with the one its previous id names */
    const apiDiagnosis = (request: MessagesRequest, all: ReturnType<typeof positions>, id: string) => {
      const asked = (request as { readonly diagnostics?: unknown }).diagnostics
      if (typeof asked !== "object" || asked === null) return undefined
      const print = MissDiagnosis.printOf(request, all)
      prints.set(id, print)
      const previousId = (asked as { readonly previous_message_id?: unknown }).previous_message_id
      if (typeof previousId !== "string") return undefined
      return MissDiagnosis.compareWithPrevious(prints.get(previousId), print)
    }

    /** the cache plan under the model's rules (OpenAI's are routed first: an overflow reads nothing) */
    const planFor = (
      request: MessagesRequest,
      caching: ReturnType<typeof cachingOf>,
      all: ReturnType<typeof positions>,
      bps: ReturnType<typeof breakpoints>,
      now: number,
      min: number,
      namespace: string
    ) => {
      if (caching === "anthropic") return plan(store, all, bps, now, min, lookback, namespace)
      const key = (request as { readonly prompt_cache_key?: unknown }).prompt_cache_key
      const bucket = namespace + OpenAICache.bucketOf(all, typeof key === "string" ? key : undefined, openai.routingPrefixTokens ?? 256)
      const served = router.route(bucket, now)
      return OpenAICache.plan(store, all, request, now, caching, min, served ? bucket : undefined, openai)
    }

    const drawFault = (): Fault | undefined => {
      const order: ReadonlyArray<Fault> = ["rateLimited", "overloaded", "serverError", "connectionReset", "timeout"]
      if (order.every((f) => (faults[f] ?? 0) <= 0)) return undefined
      let u = random()
      for (const f of order) {
        const rate = faults[f] ?? 0
        if (u < rate) return f
        u -= rate
      }
      return undefined
    }

    const faultError = (fault: Fault, requestId: string): ProviderError => {
      switch (fault) {
        case "rateLimited":
          return new RateLimited({
            detail: "Number of request tokens has exceeded your per-minute rate limit (simulated)",
            requestId,
            retryAfterMs: faults.retryAfterMs ?? 1000
          })
        case "overloaded":
          return new Overloaded({ detail: "Overloaded (simulated)", requestId })
        case "serverError":
          return new ServerError({ detail: "Internal server error (simulated)", requestId, status: 500 })
        case "connectionReset":
          return new ConnectionError({ detail: "socket hang up: connection reset mid-stream (simulated)", requestId })
        case "timeout":
          return new Timeout({ detail: "request timed out (simulated)", requestId })
      }
    }

    const sleepMs = (ms: number) => (ms > 0 ? Effect.sleep(Duration.millis(ms)) : Effect.void)

    /**
     * A call in two phases: `start` runs until the response has begun (validation, the cache lookup,
     * time to first token, the cache write) and returns the `Begun` event and `finish`, the rest of
     * the response (generation time, completion). A stream emits `Begun` between the two.
     */
    const start = (
      request: MessagesRequest,
      streamed: boolean,
      namespace: string
    ): Effect.Effect<{ readonly begun: Begun; readonly finish: Effect.Effect<Response, ProviderError> }, ProviderError> =>
      Effect.gen(function*() {
        const n = ++counter
        const caching = cachingOf(models, request.model)
        // OpenAI's writes are readable on arrival when so configured; otherwise when the response begins
        const commitOnArrival = readableOnArrival && caching !== "anthropic"
        const id = `${caching === "anthropic" ? "msg_sim_" : "chatcmpl-sim-"}${n.toString().padStart(6, "0")}`
        const requestId = `req_sim_${n.toString().padStart(6, "0")}`
        const price = lookup(models, request.model)
        // the API's limits of the model (max_tokens, context window) are checked with its other rules
        const found = violations(request, limitsOf(models, request.model))
        if (found.length > 0) return yield* Effect.fail(found[0]!)
        if (Option.isNone(price)) {
          return yield* Effect.fail(new NotFound({ detail: `model: ${request.model}`, requestId }))
        }
        // server-side context editing first: the cache sees the edited prompt
        const edits = ContextEditing.parse((request as { readonly context_management?: unknown }).context_management)
        if (edits instanceof InvalidPrompt) return yield* Effect.fail(edits)
        const edited = edits.length === 0 ? undefined : ContextEditing.apply(request, edits)
        const contextEdits = edited === undefined ? undefined : edited.applied.map((a) => ({
          type: a.type,
          clearedInputTokens: a.cleared_input_tokens,
          clearedToolUses: a.cleared_tool_uses
        }))
        const all = positions(edited?.request ?? request)
        const bps = breakpoints(edited?.request ?? request, all)
        // the fiber's clock, read synchronously at each step of the call
        const clock = yield* Effect.clock
        const startedAt = clock.unsafeCurrentTimeMillis()
        const record: CallRecord = {
          id,
          requestId,
          model: request.model,
          maxTokens: request.max_tokens,
          streamed,
          promptTokens: totalTokens(all),
          prefixFingerprint: bps.at(-1)?.position.fingerprint,
          startedAt,
          begunAt: undefined,
          completedAt: undefined,
          usage: undefined,
          outcome: "pending",
          misses: []
        }
        log.push(record)
        // trimmed in batches (a splice per call moved the whole log each time: a 1,000-call log cost
        // ~2% of a 20,000-request simulation); `calls` shows the last `callLogLimit`
        if (log.length >= 2 * callLogLimit) log.splice(0, log.length - callLogLimit)
        // the call's outcome on the record when a phase fails or is interrupted, and whatever
        // `always` does (one finalizer per phase: they run on every simulated call)
        const observed = <A>(effect: Effect.Effect<A, ProviderError>, always?: () => void) =>
          Effect.onExit(effect, (exit) =>
            Effect.sync(() => {
              always?.()
              if (exit._tag === "Success") return
              const failure = Cause.failureOption(exit.cause)
              if (Option.isSome(failure)) record.outcome = failure.value._tag
              else if (Cause.isInterrupted(exit.cause)) record.outcome = "interrupted"
            }))
        const fault = drawFault()
        const cachePlan = planFor(request, caching, all, bps, startedAt, price.value.minCacheableTokens, namespace)
        const diagnosis = caching === "anthropic" ? apiDiagnosis(request, all, id) : undefined
        // diagnosed before its own writes are under way
        if (caching === "anthropic") record.misses = diagnose(store, all, bps, cachePlan, startedAt, lookback, namespace)
        const underWay = writing(store, cachePlan)
        if (commitOnArrival) commit(store, cachePlan, startedAt, startedAt)
        const u = cachePlan.usage
        const output = request.max_tokens === 0 ? 0 : Math.max(1, Math.min(request.max_tokens, outputTokens(request)))
        yield* observed(Effect.gen(function*() {
          if (fault !== undefined && fault !== "connectionReset") {
            yield* sleepMs(fault === "timeout" ? faults.timeoutMs ?? 10_000 : latency.baseMs)
            return yield* Effect.fail(faultError(fault, requestId))
          }
          const uncached = u.input + u.cacheCreation5m + u.cacheCreation1h
          yield* sleepMs(
            latency.baseMs + (latency.uncachedMsPer1k * uncached + latency.cachedMsPer1k * u.cacheRead) / 1000
          )
          const begunAt = clock.unsafeCurrentTimeMillis()
          underWay.done()
          if (!commitOnArrival) commit(store, cachePlan, startedAt, begunAt)
          record.begunAt = begunAt
        }), () => underWay.done())
        const begun: Begun = {
          _tag: "Begun",
          id,
          model: request.model,
          usage: { ...u, output: Math.min(output, 1) },
          ...(diagnosis !== undefined ? { diagnosis } : {})
        }
        const finish = observed(Effect.gen(function*() {
          if (fault === "connectionReset") return yield* Effect.fail(faultError(fault, requestId))
          yield* sleepMs(latency.outputMsPerToken * output)
          const usage: Usage = { ...u, output }
          const text = output === 0 ? "" : FILLER.repeat(Math.ceil((output * 4) / FILLER.length)).slice(0, output * 4)
          // a forced tool_choice is answered as the API answers it: a call of the tool, its input valid
          // against the tool's input_schema, and stop_reason tool_use
          const tool = output === 0 ? undefined : forcedTool(request)
          const response: Response = {
            ...(diagnosis !== undefined ? { diagnosis } : {}),
            ...(contextEdits !== undefined ? { contextEdits } : {}),
            id,
            model: request.model,
            content: tool !== undefined
              ? [{ type: "tool_use", id: `toolu_sim_${n.toString().padStart(6, "0")}`, name: tool.name, input: minimalInstance(tool.input_schema) }]
              : output === 0
              ? []
              : [{ type: "text", text }],
            stopReason: tool !== undefined
              ? "tool_use"
              : request.max_tokens === 0 || output === request.max_tokens
              ? "max_tokens"
              : "end_turn",
            usage,
            requestId
          }
          record.completedAt = clock.unsafeCurrentTimeMillis()
          record.usage = usage
          record.outcome = "success"
          return response
        }))
        return { begun, finish }
      })

    /** the simulator in one cache namespace (`""`: the default one) */
    const modelIn = (namespace: string): LanguageModelService => {
      const create = (request: MessagesRequest) => Effect.flatMap(start(request, false, namespace), (s) => s.finish)

      const stream = (request: MessagesRequest): Stream.Stream<StreamEvent, ProviderError> =>
        Stream.unwrap(Effect.map(start(request, true, namespace), ({ begun, finish }) =>
          Stream.succeed(begun).pipe(Stream.concat(Stream.fromIterableEffect(Effect.map(finish, (response): ReadonlyArray<StreamEvent> => {
            // the text in several deltas, as the API streams it
            const first = response.content[0]
            const text = first?.type === "text" ? textDeltas(String(first.text)) : []
            return [...text, { _tag: "Completed", response }]
          }))))))

      // the same as consuming `stream`, without the stream machinery (the warmer's leaders use it)
      const streamResponse = (request: MessagesRequest, onBegun: (usage: Usage) => Effect.Effect<void>) =>
        Effect.flatMap(start(request, true, namespace), ({ begun, finish }) =>
          Effect.zipRight(onBegun(begun.usage), finish))

      return { provider: "simulated", create, stream, streamResponse }
    }
    const model = modelIn("")
    const inspect: SimulatorService = {
      calls: Effect.sync(() => log.slice(Math.max(0, log.length - callLogLimit))),
      cacheSize: Effect.sync(() => store.entries.size),
      flushCache: Effect.sync(() => store.entries.clear()),
      countTokens: (request) => totalTokens(positions(request)),
      models: Object.keys(models),
      table: models,
      direct: model,
      in: (namespace) => (namespace === "" ? model : modelIn(`${namespace}|`))
    }
    return { model, inspect }
  })

/**
 * The simulator as the {@link LanguageModel}, with its inspection API.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: SimulatorConfig = {}): Layer.Layer<LanguageModel | Simulator> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const { inspect, model } = yield* make(config)
      // OpenAI models go through the real OpenAI provider, over the simulator as its client
      const openai = yield* OpenAIProvider.make({ models: inspect.table, promptCacheKey: config.openaiKeys }).pipe(
        Effect.provideService(OpenAIClient, SimulatedOpenAI.client(model, inspect.table))
      )
      const routed = route("simulated", (m) => (isOpenAIModel(inspect.table, m) ? openai : model))
      return Context.make(LanguageModel, routed).pipe(Context.add(Simulator, inspect))
    })
  )
