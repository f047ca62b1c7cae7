/**
 * OpenAI as a `LanguageModel`: Chat Completions — the wire every OpenAI-compatible server speaks —
 * over an {@link OpenAIClient} (the official SDK, or the simulator's).
 *
 * Requests are checked with `validatePrompt` before anything is sent, translated with the pure
 * functions of `Translation` (breakpoints become explicit `prompt_cache_breakpoint`s on the models
 * that take them), and given a `prompt_cache_key` derived from their shared prefix and sharded under
 * load (`PromptCacheKeys`), unless the caller set one. A warm call (`max_tokens: 0`) goes out with one
 * output token, as OpenAI takes no zero, and its usage says so. A streamed response has begun at its
 * first chunk; its usage arrives with the last (`stream_options.include_usage`).
 *
 * @since 0.2.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { LanguageModelService } from "../LanguageModel.js"
import { LanguageModel } from "../LanguageModel.js"
import { breakpoints } from "../Prefix.js"
import * as Pricing from "../Pricing.js"
import type { MessagesRequest } from "../Prompt.js"
import { validatePrompt } from "../PromptValidation.js"
import type { AuthenticationError, ProviderError } from "../ProviderError.js"
import { ConnectionError, Timeout } from "../ProviderError.js"
import type { Response, StreamEvent } from "../Response.js"
import { TokenCounter, layerEstimate } from "../TokenCounter.js"
import type { OpenAIOptions } from "./OpenAIClient.js"
import * as OpenAIClient from "./OpenAIClient.js"
import type { ShardingOptions } from "./PromptCacheKeys.js"
import * as PromptCacheKeys from "./PromptCacheKeys.js"
import { completionToResponse, makeChunkReader, toChatRequest } from "./Translation.js"

export type {
  /** @since 0.2.0 */
  OpenAIOptions
} from "./OpenAIClient.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface ProviderOptions {
  /**
   * `prompt_cache_key` management: derived per shared prefix and sharded above the per-key rate
   * (default on, 15 a minute per key); `false` sends no key of its own
   */
  readonly promptCacheKey?: ShardingOptions | false | undefined
  /** the price table whose `caching` says which models take explicit breakpoints (default the built-in) */
  readonly models?: Pricing.PriceTable | undefined
}

/**
 * The `LanguageModel` over the {@link OpenAIClient.OpenAIClient} in context.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: ProviderOptions = {}): Effect.Effect<LanguageModelService, never, OpenAIClient.OpenAIClient> =>
  Effect.map(OpenAIClient.OpenAIClient, (client): LanguageModelService => {
    const table = options.models ?? Pricing.defaultTable
    const keys = options.promptCacheKey === false ? undefined : PromptCacheKeys.make(options.promptCacheKey ?? {})

    /** the request as a Chat body, with its prompt_cache_key */
    const toBody = (request: MessagesRequest): Effect.Effect<Record<string, unknown>, ProviderError> =>
      Effect.gen(function*() {
        yield* validatePrompt(request, Pricing.limitsOf(table, request.model))
        const body = yield* toChatRequest(request, Pricing.cachingOf(table, request.model))
        if (keys === undefined || body.prompt_cache_key !== undefined) return body
        const bps = breakpoints(request)
        if (bps.length === 0) return body
        const now = yield* Clock.currentTimeMillis
        return { ...body, prompt_cache_key: keys.keyFor(bps.map((b) => b.position.fingerprint), now) }
      })

    const create = (request: MessagesRequest): Effect.Effect<Response, ProviderError> =>
      toBody(request).pipe(
        Effect.flatMap(client.chat),
        Effect.map(({ data, requestId }) => completionToResponse(data, requestId))
      )

    const idleMs = client.streamIdleTimeoutMs
    const stream = (request: MessagesRequest): Stream.Stream<StreamEvent, ProviderError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const { next, requestId } = yield* Effect.flatMap(toBody(request), client.chatStream)
        const reader = makeChunkReader(request.model, requestId)
        const withId = requestId !== undefined ? { requestId } : {}
        const pull = next.pipe(
          Effect.mapError(Option.some),
          Effect.flatMap(Option.match({ onNone: () => Effect.fail(Option.none()), onSome: Effect.succeed }))
        )
        return Stream.repeatEffectOption(pull).pipe(
          Stream.timeoutFail(() => new Timeout({ detail: `no stream chunk for ${idleMs} ms`, ...withId }), Duration.millis(idleMs)),
          Stream.mapConcat(reader.step),
          Stream.concat(Stream.suspend(() => {
            const done = reader.completed()
            return done !== undefined
              ? Stream.succeed(done)
              : Stream.fail(new ConnectionError({ detail: "the stream ended before a finish_reason", ...withId }))
          }))
        )
      }))

    return { provider: client.name, create, stream }
  })

/**
 * The `LanguageModel` over an {@link OpenAIClient.OpenAIClient} provided apart.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerModel = (options: ProviderOptions = {}): Layer.Layer<LanguageModel, never, OpenAIClient.OpenAIClient> =>
  Layer.effect(LanguageModel, make(options))

/**
 * Chat Completions has no token-count endpoint: the `TokenCounter` is the local estimate.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTokenCounter: Layer.Layer<TokenCounter> = layerEstimate

/**
 * `LanguageModel` and `TokenCounter` over one SDK client built from `options` (the client is exposed
 * too). A missing key fails the layer with `AuthenticationError`, before any request is sent.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: OpenAIOptions & ProviderOptions
): Layer.Layer<LanguageModel | TokenCounter | OpenAIClient.OpenAIClient, AuthenticationError> =>
  Layer.provideMerge(Layer.merge(layerModel(options), layerTokenCounter), OpenAIClient.layer(options))

/**
 * {@link layer} from configuration: by default the standard environment variables (`OPENAI_API_KEY`,
 * `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`, `OPENAI_TIMEOUT_MS`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<OpenAIOptions> = OpenAIClient.configFromEnv,
  options: ProviderOptions = {}
): Layer.Layer<LanguageModel | TokenCounter | OpenAIClient.OpenAIClient, AuthenticationError | ConfigError.ConfigError> =>
  Layer.provideMerge(Layer.merge(layerModel(options), layerTokenCounter), OpenAIClient.layerConfig(config))
