/**
 * The names the library's spans carry: OpenTelemetry's GenAI semantic conventions for a provider
 * call, and the project's own under `prompt_cache.*` — prefix fingerprints, gate outcomes, skip
 * reasons, TTLs, costs; never prompt text, tool inputs or keys. The library traces through Effect's
 * tracer only (`Effect.withSpan`): any tracer the app installs sees the spans, and the OTLP wing
 * (`effect-prompt-cache/otel`) exports them.
 *
 * GenAI names as published in `@opentelemetry/semantic-conventions` (incubating,
 * `ATTR_GEN_AI_*`; docs/observability.md cites them).
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { Usage } from "./Response.js"
import { promptTokens } from "./Response.js"

/**
 * @since 0.3.0
 * @category attributes
 */
export const GenAi = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  requestMaxTokens: "gen_ai.request.max_tokens",
  responseId: "gen_ai.response.id",
  conversationId: "gen_ai.conversation.id",
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  cacheReadInputTokens: "gen_ai.usage.cache_read.input_tokens",
  cacheCreationInputTokens: "gen_ai.usage.cache_creation.input_tokens"
} as const

/**
 * @since 0.3.0
 * @category attributes
 */
export const PromptCache = {
  call: "prompt_cache.call",
  fingerprint: "prompt_cache.fingerprint",
  breakpoints: "prompt_cache.breakpoints",
  gate: "prompt_cache.gate",
  waitMs: "prompt_cache.wait_ms",
  skipReason: "prompt_cache.skip_reason",
  ttl: "prompt_cache.ttl",
  warm: "prompt_cache.warm",
  pruneDecision: "prompt_cache.prune.decision",
  costUsd: "prompt_cache.cost_usd",
  sessionCostUsd: "prompt_cache.session_cost_usd",
  attempt: "prompt_cache.attempt",
  requests: "prompt_cache.requests",
  prunedTokens: "prompt_cache.pruned_tokens",
  pruneRules: "prompt_cache.prune_rules",
  sharedTokens: "prompt_cache.shared_tokens",
  warming: "prompt_cache.warming",
  missReason: "prompt_cache.miss_reason",
  missWhere: "prompt_cache.miss_where",
  missedTokens: "prompt_cache.missed_tokens",
  apiMissReason: "prompt_cache.api_miss_reason",
  apiMissAgrees: "prompt_cache.api_miss_agrees"
} as const

/**
 * The GenAI provider name of a provider port (`gen_ai.provider.name`'s well-known values).
 *
 * @since 0.3.0
 * @category attributes
 */
export const providerName = (provider: string): string => {
  if (provider.startsWith("bedrock")) return "aws.bedrock"
  if (provider.startsWith("vertex")) return "gcp.vertex_ai"
  return provider
}

/**
 * A call's usage as GenAI attributes: input tokens count every prompt token (cache reads and writes
 * included, as the convention asks), with the cache's share beside them.
 *
 * @since 0.3.0
 * @category attributes
 */
export const usageAttributes = (usage: Usage): Record<string, number> => ({
  [GenAi.inputTokens]: promptTokens(usage),
  [GenAi.outputTokens]: usage.output,
  [GenAi.cacheReadInputTokens]: usage.cacheRead,
  [GenAi.cacheCreationInputTokens]: usage.cacheCreation5m + usage.cacheCreation1h
})

/** a fingerprint as a span shows it: its first 16 hex digits (enough to join spans, never text) */
export const shortFingerprint = (fingerprint: string): string => fingerprint.slice(0, 16)

/**
 * Effect's own tracer, the one every fiber has until an app installs another: it keeps spans in
 * memory and exports nothing. Under it the library makes no span — nobody would read them, and they
 * cost the pipeline about a quarter of its throughput (docs/observability.md).
 */
const builtInTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

/** the span the fiber is in, when it is a real one (none when tracing is off) */
const spanIn = (context: Context.Context<never>): Tracer.Span | undefined => {
  const span = Context.getOption(context as Context.Context<Tracer.ParentSpan>, Tracer.ParentSpan)
  return Option.isSome(span) && span.value._tag === "Span" ? span.value : undefined
}

/**
 * Runs `f` told whether spans are made here: a tracer other than the built-in one is installed and
 * tracing is on — when {@link withSpan} makes a span and {@link annotate} has one to write on. Code
 * that runs for every request asks once and leaves its spans and attributes out when there are none
 * (each {@link withSpan} or {@link annotate} asks on its own, a step of the runtime each time).
 *
 * @since 0.4.0
 * @category spans
 */
export const tracingWith = <A, E, R>(f: (tracing: boolean) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) =>
    f(fiber.currentTracer !== builtInTracer && fiber.getFiberRef(FiberRef.currentTracerEnabled))
  )

/**
 * Sets attributes on the current span (given, or computed only when there is one). Unlike
 * `Effect.annotateCurrentSpan`, costs nothing when there is no span (tracing off), where that builds
 * an exception to learn it.
 *
 * @since 0.3.0
 * @category spans
 */
export const annotate = (
  attributes: Readonly<Record<string, unknown>> | (() => Readonly<Record<string, unknown>>)
): Effect.Effect<void> =>
  Effect.tracerWith((tracer) =>
    // under the built-in tracer the library makes no span of its own: an app's span stays as it made it
    tracer === builtInTracer ? Effect.void : Effect.contextWith((context: Context.Context<never>) => {
      const span = spanIn(context)
      if (span === undefined) return
      // a function is called only when there is a span to annotate
      const all = typeof attributes === "function" ? attributes() : attributes
      for (const key in all) span.attribute(key, all[key])
    })
  )

/**
 * Adds an event to the current span, at `nanos` (the fiber's clock); nothing without a span.
 *
 * @since 0.3.0
 * @category spans
 */
export const event = (name: string, nanos: bigint, attributes?: Readonly<Record<string, unknown>>): Effect.Effect<void> =>
  Effect.tracerWith((tracer) =>
    tracer === builtInTracer ? Effect.void : Effect.contextWith((context: Context.Context<never>) => {
      spanIn(context)?.event(name, nanos, attributes as Record<string, unknown> | undefined)
    })
  )

/**
 * `Effect.withSpan`, made only when someone reads spans: a tracer is installed (OTLP, an
 * OpenTelemetry SDK, any `Layer.setTracer`) and tracing is on (`Layer.setTracerEnabled(false)` turns
 * it off). Otherwise the effect runs as it is — no span, no context copy, no stack trace (never
 * captured here), and options given as a function are never computed.
 *
 * @since 0.3.0
 * @category spans
 */
export const withSpan = (
  name: string,
  options?: SpanOptions | (() => SpanOptions)
) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tracerWith((tracer) =>
    tracer === builtInTracer
      ? self
      : Effect.flatMap(
        FiberRef.get(FiberRef.currentTracerEnabled),
        (enabled) =>
          enabled
            ? Effect.withSpan(self, name, { ...(typeof options === "function" ? options() : options), captureStackTrace: false })
            : self
      )
  )



/**
 * A span's kind and first attributes.
 *
 * @since 0.3.0
 * @category spans
 */
export interface SpanOptions {
  readonly kind?: Tracer.SpanKind | undefined
  readonly attributes?: Readonly<Record<string, unknown>> | undefined
}
