/**
 * Single-flight cache warming for apps written on `@effect/ai`: a layer that sits under the app's
 * `@effect/ai` `LanguageModel` (whatever provider layer built it) and sends every call through the
 * core's `CacheWarmer` gate — concurrent calls over the same cold prefix wait for the first to
 * establish it, then read it; known-warm prefixes and prefixes below the model's minimum go straight
 * through. Breakpoints are placed with the core's planner (the end of the system prompt, and the end
 * of the prompt) as the provider options `@effect/ai-anthropic` understands, unless the app placed its
 * own. Each call's usage goes into `CacheMetrics`, as the pipeline's do.
 *
 * Calls keep their types and errors: an `AiError` stays the `AiError` the provider layer raised.
 *
 * Two services are named `LanguageModel`: `@effect/ai`'s (what the app calls, which this layer
 * decorates) and this library's provider port (`effect-prompt-cache`'s `LanguageModel`, which the
 * warmer sends through). Here the first is `AiLanguageModel`, the second `ProviderPort`.
 *
 * @since 0.3.0
 */
import * as AiError from "@effect/ai/AiError"
import * as AiLanguageModel from "@effect/ai/LanguageModel"
import * as AiPrompt from "@effect/ai/Prompt"
import * as AiResponse from "@effect/ai/Response"
import type * as AiTool from "@effect/ai/Tool"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"
import type { Planned } from "../BreakpointPlanner.js"
import { asPlanned, plan } from "../BreakpointPlanner.js"
import type { CacheMetrics } from "../CacheMetrics.js"
import type { Policy } from "../CacheWarmer.js"
import * as CacheWarmer from "../CacheWarmer.js"
import type { LanguageModelService as ProviderPortService } from "../LanguageModel.js"
import { LanguageModel as ProviderPort } from "../LanguageModel.js"
import { positions } from "../Prefix.js"
import { cachingOf, Pricing } from "../Pricing.js"
import type { MessagesRequest } from "../Prompt.js"
import type { ProviderError } from "../ProviderError.js"
import { ConnectionError } from "../ProviderError.js"
import type { ApiUsage, Response, Usage } from "../Response.js"
import { emptyUsage, fromApiUsage } from "../Response.js"
import * as RetryPolicy from "../RetryPolicy.js"
import type { WarmRegistry } from "../WarmRegistry.js"
import type { Target } from "./Translation.js"
import { applyMarks, markable, toRequest } from "./Translation.js"

/**
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** the model the provider layer calls (its minimum cacheable prefix and prices apply) */
  readonly model: string
  /** `auto` (default): the gate; `off`: calls go straight through, still measured */
  readonly policy?: Policy | undefined
  /** how long a call waits for another to establish its prefix before it goes uncached (default 60,000 ms) */
  readonly maxWaitMs?: number | undefined
  /** place breakpoints when the app placed none (default true) */
  readonly placeBreakpoints?: boolean | undefined
  /**
   * a `generateText` call that leads (others wait for its prefix) runs on the provider layer's
   * streaming path, its answer assembled from the stream, so its waiters go at its first part rather
   * than at its end (default true; `generateObject` always runs as it is)
   */
  readonly streamLeaders?: boolean | undefined
}

/** the key under which a request carries its call (a symbol: spread copies it, JSON never) */
const CALL: unique symbol = Symbol.for("effect-prompt-cache/effect-ai/call")

/** one `@effect/ai` call as the warmer sends it */
interface Call {
  /** runs the call; `onBegun` when its response began (the cache is readable) */
  readonly run: (onBegun: ((usage: Usage | undefined) => Effect.Effect<void>) | undefined) => Effect.Effect<Response, ProviderError>
}

/**
 * A call's usage from its finish part: the provider's own usage when the provider layer kept it in
 * the part's metadata (`@effect/ai-anthropic` does, cache writes included); else the figures
 * `@effect/ai` maps — `inputTokens` (all prompt tokens, cached ones included, as OpenAI counts them)
 * and `cachedInputTokens` —, with the cache writes unknown unless the model's cache does not bill
 * them apart (OpenAI's automatic caching). `undefined` when there is no finish part.
 *
 * @since 0.3.0
 * @category usage
 */
export const usageOf = (
  parts: ReadonlyArray<{ readonly type: string }>,
  writesBilled: boolean
): { readonly usage: Usage; readonly writesKnown: boolean } | undefined => {
  const finish = parts.find((p): p is AiResponse.FinishPart => p.type === "finish")
  if (finish === undefined) return undefined
  const raw = (finish.metadata as { readonly anthropic?: { readonly usage?: ApiUsage } } | undefined)?.anthropic?.usage
  if (raw !== undefined && raw !== null) {
    return { usage: { ...fromApiUsage(raw), output: finish.usage.outputTokens ?? raw.output_tokens ?? 0 }, writesKnown: true }
  }
  const cached = finish.usage.cachedInputTokens ?? 0
  return {
    usage: { ...emptyUsage, input: Math.max(0, (finish.usage.inputTokens ?? 0) - cached), cacheRead: cached, output: finish.usage.outputTokens ?? 0 },
    writesKnown: !writesBilled
  }
}

/** the adapter the warmer sends through: each request carries its `@effect/ai` call */
const port: ProviderPortService = {
  provider: "effect-ai",
  create: (request) => callOf(request).run(undefined),
  stream: () => Stream.die(new Error("the @effect/ai adapter sends through create and streamResponse")),
  streamResponse: (request, onBegun) => callOf(request).run(onBegun)
}

const callOf = (request: MessagesRequest): Call => {
  const call = (request as unknown as { readonly [CALL]?: Call })[CALL]
  if (call === undefined) throw new Error("an @effect/ai request without its call")
  return call
}

/** the failure the warmer sees when the `@effect/ai` call failed (the app sees the call's own) */
const failedCall = new ConnectionError({ detail: "the @effect/ai call failed" })

/**
 * Decorates the `@effect/ai` `LanguageModel` in context.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (options: Options) =>
  Effect.gen(function*() {
    const inner = yield* AiLanguageModel.LanguageModel
    const pricing = yield* Pricing
    const warmer = yield* CacheWarmer.make({
      policy: options.policy ?? "auto",
      retry: RetryPolicy.none,
      maxWaitMs: options.maxWaitMs ?? 60_000
    }).pipe(Effect.provideService(ProviderPort, port))
    const place = options.placeBreakpoints ?? true
    const streamLeaders = options.streamLeaders ?? true
    // a model whose cache writes cost more than its input (all but OpenAI's automatic caching)
    const writesBilled = cachingOf(pricing.table, options.model) !== "openai-automatic"

    /** the prompt as sent (breakpoints placed), and as the warmer keys it */
    const prepare = (raw: AiPrompt.RawInput, tools: ReadonlyArray<AiTool.Any>) => {
      const prompt = AiPrompt.make(raw)
      const translated = toRequest(prompt, tools, options.model)
      if (translated.marked || !place) return { prompt, planned: markableOnly(asPlanned(translated.request), translated.targets) }
      const all = positions(translated.request)
      const planned = plan({
        request: translated.request,
        sharedPositions: all.length,
        minTokens: pricing.minCacheableTokens(options.model)
      })
      const kept = markableOnly(planned, translated.targets)
      const marks = new Map(kept.breakpoints.map((b) => [b.index, b.ttl] as const))
      return { prompt: applyMarks(prompt, translated.targets, marks), planned: kept }
    }

    /**
     * runs `call` through the gate, as the warmer sends it: `call` is told when its response begins
     * (a stream's first part) and, if it never says, the response is taken to begin when the call
     * ends; `leading` says whether anyone waits for it to begin. The app sees the call's own result or
     * failure.
     */
    const gated = <A, E, R>(
      planned: Planned,
      call: (onBegun: Effect.Effect<void>, leading: boolean) => Effect.Effect<A, E, R>,
      partsOf: (a: A) => ReadonlyArray<{ readonly type: string }>
    ): Effect.Effect<A, E, R> =>
      Effect.contextWithEffect((context: Context.Context<R>) => {
        let result: { readonly value: A } | undefined
        let failure: Cause.Cause<E> | undefined
        const run: Call["run"] = (onBegun) => {
          let begun = false
          const begin = (usage: Usage | undefined) =>
            Effect.suspend(() => {
              if (begun || onBegun === undefined) return Effect.void
              begun = true
              return onBegun(usage)
            })
          return Effect.provide(call(begin(undefined), onBegun !== undefined), context).pipe(
            Effect.matchCauseEffect({
              onFailure: (cause) => {
                failure = cause
                return Effect.fail(failedCall)
              },
              onSuccess: (value) => {
                result = { value }
                const read = usageOf(partsOf(value), writesBilled)
                const response: Response = {
                  id: "",
                  model: options.model,
                  content: [],
                  stopReason: null,
                  usage: read?.usage ?? emptyUsage,
                  ...(read?.writesKnown === false || read === undefined ? { usageUnknown: ["cacheWrite"] as const } : {})
                }
                return Effect.as(begin(read?.usage), response)
              }
            })
          )
        }
        const request = { ...planned.request, [CALL]: { run } } as MessagesRequest
        return warmer.request({ request, breakpoints: planned.breakpoints }).pipe(
          Effect.matchCauseEffect({
            onFailure: (cause) => failure !== undefined ? Effect.failCause(failure) : Effect.die(Cause.squash(cause)),
            onSuccess: () => result !== undefined ? Effect.succeed(result.value) : Effect.die(new Error("the @effect/ai call ended without a result"))
          })
        )
      })

    /** a `generateText` call on the streaming path: `begun` at its first part, its answer assembled */
    const streamed = (opts: AiLanguageModel.GenerateTextOptions<any>, begun: Effect.Effect<void>) =>
      inner.streamText(opts as never).pipe(
        Stream.tap(() => begun),
        Stream.runCollect,
        Effect.flatMap((parts) => {
          const assembled = assemble(Chunk.toReadonlyArray(parts) as ReadonlyArray<AiResponse.StreamPart<any>>)
          return Either.isLeft(assembled)
            ? Effect.fail(new AiError.UnknownError({ module: "WarmingLanguageModel", method: "generateText", description: "the stream reported an error", cause: assembled.left }))
            : Effect.succeed(new AiLanguageModel.GenerateTextResponse<any>(assembled.right as Array<AiResponse.Part<any>>))
        })
      )

    const toolsOf = (toolkit: unknown): Effect.Effect<ReadonlyArray<AiTool.Any>> => {
      if (toolkit === undefined) return Effect.succeed([])
      const withHandler = Effect.isEffect(toolkit)
        ? Effect.orElseSucceed(toolkit as Effect.Effect<{ readonly tools: Record<string, AiTool.Any> }>, () => ({ tools: {} }))
        : Effect.succeed(toolkit as { readonly tools: Record<string, AiTool.Any> })
      return Effect.map(withHandler, (t) => Object.values(t.tools))
    }

    const generateText = (opts: AiLanguageModel.GenerateTextOptions<any>) =>
      Effect.flatMap(toolsOf(opts.toolkit), (tools) => {
        const { planned, prompt } = prepare(opts.prompt, tools)
        const sent = { ...opts, prompt }
        return gated(
          planned,
          (begun, leading) => leading && streamLeaders ? streamed(sent, begun) : inner.generateText(sent as never),
          (r: AiLanguageModel.GenerateTextResponse<any>) => r.content
        )
      })

    const generateObject = (opts: AiLanguageModel.GenerateObjectOptions<any, any, any, any>) =>
      Effect.flatMap(toolsOf(opts.toolkit), (tools) => {
        const { planned, prompt } = prepare(opts.prompt, tools)
        return gated(planned, () => inner.generateObject({ ...opts, prompt } as never), (r: AiLanguageModel.GenerateTextResponse<any>) => r.content)
      })

    /**
     * A stream through the gate: its parts reach the app as they come, and its response begins with
     * its first part — when a leader's waiters go. It ends (for the warmer: the call completes) with
     * its last part, whose usage is recorded then.
     */
    const streamText = (opts: AiLanguageModel.GenerateTextOptions<any>) =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const tools = yield* toolsOf(opts.toolkit)
        const { planned, prompt } = prepare(opts.prompt, tools)
        const mailbox = yield* Mailbox.make<AiResponse.StreamPart<any>, unknown>()
        let finish: AiResponse.StreamPart<any> | undefined
        const call = (begun: Effect.Effect<void>) =>
          Stream.runForEach(inner.streamText({ ...opts, prompt } as never), (part: AiResponse.StreamPart<any>) => {
            if (part.type === "finish") finish = part
            return Effect.zipRight(begun, mailbox.offer(part))
          })
        yield* gated(planned, call, () => (finish === undefined ? [] : [finish])).pipe(
          Effect.exit,
          Effect.flatMap((exit) => mailbox.done(exit)),
          Effect.forkScoped
        )
        return Mailbox.toStream(mailbox)
      }))

    return AiLanguageModel.LanguageModel.of({
      generateText: generateText as AiLanguageModel.Service["generateText"],
      generateObject: generateObject as AiLanguageModel.Service["generateObject"],
      streamText: streamText as AiLanguageModel.Service["streamText"]
    })
  })

/**
 * A streamed answer's parts as `generateText`'s: each text and reasoning block's deltas joined into
 * one part, in its place; the tool parameters' deltas dropped (the tool call part follows them); the
 * rest (response metadata, tool calls and results, files, sources, finish) as they are. An error part
 * is the answer's failure.
 *
 * @since 0.3.0
 * @category streams
 */
export const assemble = (parts: ReadonlyArray<AiResponse.StreamPart<any>>): Either.Either<ReadonlyArray<unknown>, unknown> => {
  const out: Array<unknown> = []
  const open = new Map<string, { text: string; readonly at: number; readonly metadata: unknown }>()
  for (const part of parts) {
    switch (part.type) {
      case "text-start":
      case "reasoning-start":
        open.set(`${part.type}:${part.id}`, { text: "", at: out.length, metadata: part.metadata })
        out.push(undefined)
        break
      case "text-delta":
      case "reasoning-delta": {
        const block = open.get(`${part.type === "text-delta" ? "text-start" : "reasoning-start"}:${part.id}`)
        if (block !== undefined) block.text += part.delta
        break
      }
      case "text-end":
      case "reasoning-end": {
        const kind = part.type === "text-end" ? "text" : "reasoning"
        const block = open.get(`${kind}-start:${part.id}`)
        if (block === undefined) break
        const metadata = Object.keys(part.metadata ?? {}).length > 0 ? part.metadata : block.metadata
        out[block.at] = AiResponse.makePart(kind, { text: block.text, metadata } as never)
        open.delete(`${kind}-start:${part.id}`)
        break
      }
      case "tool-params-start":
      case "tool-params-delta":
      case "tool-params-end":
        break
      case "error":
        return Either.left(part.error)
      default:
        out.push(part)
    }
  }
  // a block the stream never closed keeps what it had
  for (const [key, block] of open) {
    out[block.at] = AiResponse.makePart(key.startsWith("text") ? "text" : "reasoning", { text: block.text, metadata: block.metadata } as never)
  }
  return Either.right(out)
}

/** the planned breakpoints the provider layer can place (not on tools) */
const markableOnly = (planned: Planned, targets: ReadonlyArray<Target>): Planned => {
  const kept = planned.breakpoints.filter((b) => markable(targets, b.index))
  return kept.length === planned.breakpoints.length ? planned : { ...planned, breakpoints: kept }
}

/**
 * The decorator as a layer: provide it the app's provider layer (`AnthropicLanguageModel.layer(…)`),
 * `CacheMetrics`, a `WarmRegistry` and `Pricing`; it provides `@effect/ai`'s `LanguageModel`.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<AiLanguageModel.LanguageModel, never, AiLanguageModel.LanguageModel | CacheMetrics | WarmRegistry | Pricing> =>
  Layer.scoped(AiLanguageModel.LanguageModel, make(options))
