/**
 * The neutral provider interface. A provider offers two primitives, `create` (one JSON response) and
 * `stream` (events, with the moment the response begins separate from its completion), so providers
 * swap by swapping one layer: the simulator, the Anthropic API, or a user's own.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { MessagesRequest } from "./Prompt.js"
import type { ProviderError } from "./ProviderError.js"
import { ConnectionError } from "./ProviderError.js"
import type { Response, StreamEvent, Usage } from "./Response.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface LanguageModelService {
  /** a short name for reports: `simulated`, `anthropic`, ... */
  readonly provider: string
  /**
   * where the provider's cache is shared, when it is not one cache for all its callers: Claude on
   * Bedrock caches per account and region, on Vertex per project and region. Warm-prefix keys (the
   * registry, the gates, the replica lock) carry it, so two scopes never believe each other warm.
   */
  readonly cacheScope?: string | undefined
  /** one request, one JSON response (supports `max_tokens: 0`) */
  readonly create: (request: MessagesRequest) => Effect.Effect<Response, ProviderError>
  /** a streamed request: `Begun` (with the cache usage, if known then) first, then deltas, then `Completed` */
  readonly stream: (request: MessagesRequest) => Stream.Stream<StreamEvent, ProviderError>
  /**
   * Optional: a streamed request consumed for its response, `onBegun` run the moment the response
   * begins — the same as {@link streamToResponse} over `stream`, without materializing the events.
   * A provider offers it when it can do this cheaper than its `stream` (the simulator does); callers
   * use {@link streamedResponse}, which falls back to `stream`.
   */
  readonly streamResponse?:
    | ((request: MessagesRequest, onBegun: (usage: Usage | undefined) => Effect.Effect<void>) => Effect.Effect<Response, ProviderError>)
    | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class LanguageModel extends Context.Tag("effect-prompt-cache/LanguageModel")<
  LanguageModel,
  LanguageModelService
>() {}

/**
 * Runs a streamed request to completion, calling `onBegun` the moment the response begins (the cache
 * is readable from then on). Fails with a `ConnectionError` if the stream ends without completing.
 *
 * @since 0.1.0
 * @category utils
 */
export const streamToResponse = <E, R>(
  stream: Stream.Stream<StreamEvent, ProviderError>,
  onBegun: (usage: Usage | undefined) => Effect.Effect<void, E, R>
): Effect.Effect<Response, ProviderError | E, R> =>
  stream.pipe(
    Stream.runFoldEffect(Option.none<Response>(), (acc, event) => {
      switch (event._tag) {
        case "Begun":
          return Effect.as(onBegun(event.usage), acc)
        case "TextDelta":
          return Effect.succeed(acc)
        case "Completed":
          return Effect.succeed(Option.some(event.response))
      }
    }),
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail(new ConnectionError({ detail: "the stream ended before the message was complete" })),
      onSome: Effect.succeed
    }))
  )

/**
 * A streamed request run to completion with `onBegun` called when the response begins: the provider's
 * own `streamResponse` when it has one, else {@link streamToResponse} over its `stream`.
 *
 * @since 0.1.0
 * @category utils
 */
export const streamedResponse = (
  lm: LanguageModelService,
  request: MessagesRequest,
  onBegun: (usage: Usage | undefined) => Effect.Effect<void>
): Effect.Effect<Response, ProviderError> =>
  lm.streamResponse !== undefined ? lm.streamResponse(request, onBegun) : streamToResponse(lm.stream(request), onBegun)

/**
 * One `LanguageModel` over several, chosen per request by its model (the simulator answers Anthropic
 * models directly and OpenAI models through the OpenAI provider, say).
 *
 * @since 0.2.0
 * @category combinators
 */
export const route = (provider: string, choose: (model: string) => LanguageModelService): LanguageModelService => ({
  provider,
  // the models of one routed provider may live in different caches: each request's own
  cacheScope: undefined,
  create: (request) => choose(request.model).create(request),
  stream: (request) => choose(request.model).stream(request),
  streamResponse: (request, onBegun) => streamedResponse(choose(request.model), request, onBegun)
})

/**
 * A prefix fingerprint as a warm-prefix key of the provider's cache scope (itself when there is none).
 *
 * @since 0.2.0
 * @category utils
 */
export const scopedKey = (lm: Pick<LanguageModelService, "cacheScope">, fingerprint: string): string =>
  lm.cacheScope === undefined || lm.cacheScope === "" ? fingerprint : `${lm.cacheScope}|${fingerprint}`
