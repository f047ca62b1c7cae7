/**
 * The real provider: the Anthropic Messages API through the official `@anthropic-ai/sdk`, as a
 * `LanguageModel` and a `TokenCounter` over one {@link AnthropicClient}.
 *
 * Requests are checked with `validatePrompt` before anything is sent, against the limits of the
 * built-in price table (`max_tokens`, context window) for the models it knows. Interruption aborts the HTTP
 * request. The translations between the API's bodies and events and this library's `Response` and
 * `StreamEvent` are pure functions at module level.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { LanguageModelService } from "../LanguageModel.js"
import { LanguageModel } from "../LanguageModel.js"
import * as Pricing from "../Pricing.js"
import type { MessagesRequest } from "../Prompt.js"
import { validatePrompt } from "../PromptValidation.js"
import type { AuthenticationError, ProviderError } from "../ProviderError.js"
import { ConnectionError, Timeout } from "../ProviderError.js"
import type { ApiDiagnosis, Response, StreamEvent, Usage } from "../Response.js"
import { apiDiagnosisOf, contextEditsOf, fromApiUsage } from "../Response.js"
import { estimator, TokenCounter } from "../TokenCounter.js"
import type { AnthropicOptions, MessageData, SdkEvent } from "./AnthropicClient.js"
import * as AnthropicClient from "./AnthropicClient.js"

export type {
  /** @since 0.1.0 */
  AnthropicOptions
} from "./AnthropicClient.js"

// =============================================================================
// translators
// =============================================================================

/** the request body as the API takes it (`stream` is the transport's business) */
const toBody = (request: MessagesRequest): Record<string, unknown> => {
  const { stream: _stream, ...rest } = request
  return rest as Record<string, unknown>
}

/** the count_tokens body: the fields the endpoint accepts */
const toCountBody = (request: MessagesRequest): Record<string, unknown> => {
  const { max_tokens: _m, stream: _s, temperature: _t, stop_sequences: _ss, metadata: _md, cache_control: _cc, ...rest } =
    request
  return rest as Record<string, unknown>
}

const makeResponse = (data: MessageData, requestId: string | undefined): Response => ({
  id: data.id,
  model: data.model,
  content: data.content,
  stopReason: data.stop_reason,
  usage: fromApiUsage(data.usage),
  ...(requestId !== undefined ? { requestId } : {}),
  ...withDiagnosis(apiDiagnosisOf(data.diagnostics)),
  ...withEdits(contextEditsOf(data.context_management))
})

const withEdits = (edits: Response["contextEdits"]) => (edits !== undefined ? { contextEdits: edits } : {})

const withDiagnosis = (diagnosis: ApiDiagnosis | undefined) => (diagnosis !== undefined ? { diagnosis } : {})

/** a `message_delta`'s usage over the one known so far: fields it leaves out keep their value */
const mergeUsage = (usage: Usage, delta: SdkEvent["usage"] & object): Usage =>
  fromApiUsage({
    input_tokens: delta.input_tokens ?? usage.input,
    cache_creation_input_tokens: delta.cache_creation_input_tokens ?? usage.cacheCreation5m + usage.cacheCreation1h,
    cache_read_input_tokens: delta.cache_read_input_tokens ?? usage.cacheRead,
    cache_creation: delta.cache_creation ?? {
      ephemeral_5m_input_tokens: usage.cacheCreation5m,
      ephemeral_1h_input_tokens: usage.cacheCreation1h
    },
    output_tokens: delta.output_tokens ?? usage.output
  })

/**
 * The state of one streamed response, folded over its events: `step` turns each API event into the
 * library's stream events (`Begun` at `message_start`, text deltas, `Completed` at `message_stop`).
 */
const makeStreamTranslator = (model: string, requestId: string | undefined) => {
  let id = ""
  let usage = fromApiUsage({ input_tokens: 0, output_tokens: 0 })
  let stopReason: string | null = null
  const blocks: Array<Record<string, unknown>> = []
  const partialJson: Array<string> = []
  let completed = false
  let diagnosis: ApiDiagnosis | undefined
  let contextEdits: Response["contextEdits"]
  const step = (e: SdkEvent): ReadonlyArray<StreamEvent> => {
    switch (e.type) {
      case "message_start": {
        id = e.message!.id
        model = e.message!.model
        usage = fromApiUsage(e.message!.usage)
        diagnosis = apiDiagnosisOf(e.message!.diagnostics)
        return [{ _tag: "Begun", id, model, usage }]
      }
      case "content_block_start": {
        blocks[e.index ?? blocks.length] = { ...e.content_block }
        return []
      }
      case "content_block_delta": {
        if (e.delta?.type === "text_delta" && typeof e.delta.text === "string") {
          const block = blocks[e.index ?? 0]
          if (block !== undefined) block.text = String(block.text ?? "") + e.delta.text
          return [{ _tag: "TextDelta", text: e.delta.text }]
        }
        if (e.delta?.type === "input_json_delta" && typeof e.delta.partial_json === "string") {
          const index = e.index ?? 0
          partialJson[index] = (partialJson[index] ?? "") + e.delta.partial_json
        }
        return []
      }
      case "content_block_stop": {
        // a tool_use block's input arrives as JSON in pieces: whole once the block stops
        const index = e.index ?? 0
        const json = partialJson[index]
        const block = blocks[index]
        if (json !== undefined && block !== undefined && json !== "") {
          try {
            block.input = JSON.parse(json)
          } catch {
            block.input = {}
          }
        }
        return []
      }
      case "message_delta": {
        stopReason = e.delta?.stop_reason ?? stopReason
        contextEdits = contextEditsOf(e.context_management) ?? contextEdits
        if (e.usage !== undefined) usage = mergeUsage(usage, e.usage)
        return []
      }
      case "message_stop": {
        completed = true
        return [{
          _tag: "Completed",
          response: {
            id,
            model,
            content: blocks.filter((b) => b !== undefined),
            stopReason,
            usage,
            ...(requestId !== undefined ? { requestId } : {}),
            ...(diagnosis !== undefined ? { diagnosis } : {}),
            ...withEdits(contextEdits)
          }
        }]
      }
      default:
        return []
    }
  }
  return { step, completed: () => completed }
}

// =============================================================================
// LanguageModel
// =============================================================================

/**
 * The `LanguageModel` over the {@link AnthropicClient} in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<LanguageModelService, never, AnthropicClient.AnthropicClient> = Effect.map(
  AnthropicClient.AnthropicClient,
  (client): LanguageModelService => {
    const idleMs = client.options.streamIdleTimeoutMs ?? 60_000

    // the API's structural rules are checked here, before anything is sent
    const create = (request: MessagesRequest): Effect.Effect<Response, ProviderError> =>
      Effect.zipRight(
        validatePrompt(request, Pricing.limitsOf(Pricing.defaultTable, request.model)),
        Effect.map(client.createMessage(toBody(request)), ({ data, requestId }) => makeResponse(data, requestId))
      )

    const stream = (request: MessagesRequest): Stream.Stream<StreamEvent, ProviderError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        yield* validatePrompt({ ...request, stream: true }, Pricing.limitsOf(Pricing.defaultTable, request.model))
        const { next, requestId } = yield* client.streamMessage(toBody(request))
        const translator = makeStreamTranslator(request.model, requestId)
        const pull = next.pipe(
          Effect.mapError(Option.some),
          Effect.flatMap(Option.match({ onNone: () => Effect.fail(Option.none()), onSome: Effect.succeed }))
        )
        const withId = requestId !== undefined ? { requestId } : {}
        return Stream.repeatEffectOption(pull).pipe(
          Stream.timeoutFail(() => new Timeout({ detail: `no stream event for ${idleMs} ms`, ...withId }), Duration.millis(idleMs)),
          Stream.mapConcat(translator.step),
          Stream.concat(Stream.suspend(() =>
            translator.completed()
              ? Stream.empty
              : Stream.fail(new ConnectionError({ detail: "the stream ended before message_stop", ...withId }))
          ))
        )
      }))

    return { provider: client.platform, cacheScope: client.cacheScope, create, stream }
  }
)

/**
 * The `LanguageModel` over an {@link AnthropicClient} provided apart.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerModel: Layer.Layer<LanguageModel, never, AnthropicClient.AnthropicClient> = Layer.effect(
  LanguageModel,
  make
)

/**
 * A `TokenCounter` backed by `POST /v1/messages/count_tokens`, over the same client; the local
 * estimate on a platform that does not serve it (Bedrock's invoke API).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTokenCounter: Layer.Layer<TokenCounter, never, AnthropicClient.AnthropicClient> = Layer.effect(
  TokenCounter,
  Effect.map(AnthropicClient.AnthropicClient, (client) => {
    const count = client.countTokens
    return count === undefined ? estimator : { countRequest: (request: MessagesRequest) => count(toCountBody(request)) }
  })
)

const both = Layer.merge(layerModel, layerTokenCounter)

/**
 * `LanguageModel` and `TokenCounter` over one SDK client built from `options` (the client is exposed
 * too). A missing key fails the layer with `AuthenticationError`, before any request is sent.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: AnthropicOptions
): Layer.Layer<LanguageModel | TokenCounter | AnthropicClient.AnthropicClient, AuthenticationError> =>
  Layer.provideMerge(both, AnthropicClient.layer(options))

/**
 * {@link layer} from configuration: by default the standard environment variables
 * (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `ANTHROPIC_TIMEOUT_MS`); pass a `Config.Wrap` to name
 * your own.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<AnthropicOptions> = AnthropicClient.configFromEnv
): Layer.Layer<
  LanguageModel | TokenCounter | AnthropicClient.AnthropicClient,
  AuthenticationError | ConfigError.ConfigError
> => Layer.provideMerge(both, AnthropicClient.layerConfig(config))
