/**
 * The real provider: the Anthropic Messages API through the official `@anthropic-ai/sdk`.
 *
 * Requests are checked with `validatePrompt` before anything is sent. One SDK client per layer, with
 * `maxRetries: 0` (retries are ours: see {@link RetryPolicy}). Every
 * SDK failure is mapped once, here, into {@link ProviderError}. Interruption aborts the HTTP request.
 * The API key is held as a `Redacted` and never appears in an error, log line or report.
 *
 * @since 0.1.0
 */
import Anthropic from "@anthropic-ai/sdk"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type { LanguageModelService } from "../LanguageModel.js"
import { LanguageModel } from "../LanguageModel.js"
import type { MessagesRequest } from "../Prompt.js"
import { validatePrompt } from "../PromptValidation.js"
import type { ProviderError } from "../ProviderError.js"
import { AuthenticationError, ConnectionError, fromStatus, Timeout } from "../ProviderError.js"
import type { ApiUsage, Response, StreamEvent } from "../Response.js"
import { fromApiUsage } from "../Response.js"
import { TokenCounter } from "../TokenCounter.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface AnthropicOptions {
  readonly apiKey: Redacted.Redacted<string> | string
  /** default: the SDK's (the public API) */
  readonly baseURL?: string | undefined
  /** per-request timeout in ms (default 600,000, the SDK's) */
  readonly timeoutMs?: number | undefined
  /** extra headers on every request (`anthropic-beta`, ...) */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /**
   * a stream that delivers no event for this long fails with `Timeout` (retryable), so a connection
   * that stalls mid-body cannot hang a request (default 60,000 ms; the API pings every few seconds)
   */
  readonly streamIdleTimeoutMs?: number | undefined
}

const parseRetryAfter = (headers: Headers | undefined): number | undefined => {
  if (headers === undefined) return undefined
  const ms = headers.get("retry-after-ms")
  if (ms !== null && Number.isFinite(Number(ms))) return Number(ms)
  const s = headers.get("retry-after")
  if (s === null) return undefined
  if (Number.isFinite(Number(s))) return Number(s) * 1000
  const date = Date.parse(s)
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined
}

/**
 * Maps anything the SDK (or the fetch under it) throws to a typed error.
 *
 * @since 0.1.0
 * @category errors
 */
export const mapError = (u: unknown): ProviderError => {
  if (u instanceof Anthropic.APIConnectionTimeoutError) {
    return new Timeout({ detail: "the request timed out before a response arrived" })
  }
  if (u instanceof Anthropic.APIUserAbortError) {
    return new ConnectionError({ detail: "the request was aborted" })
  }
  if (u instanceof Anthropic.APIConnectionError) {
    const cause = (u as { cause?: unknown }).cause
    return new ConnectionError({
      detail: cause instanceof Error ? `${u.message}: ${cause.message}` : u.message
    })
  }
  if (u instanceof Anthropic.APIError) {
    const body = u.error as { error?: { type?: string; message?: string }; request_id?: string } | undefined
    const type = body?.error?.type ?? u.type ?? undefined
    const requestId = u.requestID ?? u.headers?.get("request-id") ?? body?.request_id ?? undefined
    return fromStatus({
      status: u.status,
      // an `error` event inside an SSE stream comes with no status: its type says what it is
      type: type ?? undefined,
      detail: body?.error?.message ?? u.apiMessage ?? u.message,
      requestId: requestId ?? undefined,
      retryAfterMs: parseRetryAfter(u.headers)
    })
  }
  const message = u instanceof Error ? u.message : String(u)
  return new ConnectionError({ detail: message })
}

type SdkEvent = {
  readonly type: string
  readonly message?: {
    readonly id: string
    readonly model: string
    readonly usage: ApiUsage
  }
  readonly index?: number
  readonly content_block?: Record<string, unknown>
  readonly delta?: { readonly type?: string; readonly text?: string; readonly stop_reason?: string | null }
  readonly usage?: Partial<ApiUsage>
}

const body = (request: MessagesRequest): Record<string, unknown> => {
  const { stream: _stream, ...rest } = request
  return rest as Record<string, unknown>
}

/**
 * Builds the service. Fails with `AuthenticationError` when the key is missing or empty, before any
 * request is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: AnthropicOptions): Effect.Effect<LanguageModelService & { readonly client: Anthropic }, AuthenticationError> =>
  Effect.gen(function*() {
    const key = typeof options.apiKey === "string" ? options.apiKey : Redacted.value(options.apiKey)
    if (key.trim().length === 0) {
      return yield* Effect.fail(
        new AuthenticationError({ detail: "no API key: set ANTHROPIC_API_KEY or pass apiKey to AnthropicProvider.layer" })
      )
    }
    // The key goes in `x-api-key`, the API's documented header; null credentials keep the SDK from
    // reading the environment or adding a second (Bearer) copy of the key.
    const client = new Anthropic({
      apiKey: null,
      authToken: null,
      maxRetries: 0,
      defaultHeaders: { ...options.headers, "x-api-key": key },
      ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {})
    })

    // the API's structural rules are checked here, before anything is sent
    const idleMs = options.streamIdleTimeoutMs ?? 60_000
    const create = (request: MessagesRequest): Effect.Effect<Response, ProviderError> =>
      Effect.zipRight(validatePrompt(request), send(request))

    const send = (request: MessagesRequest): Effect.Effect<Response, ProviderError> =>
      Effect.tryPromise({
        try: (signal) =>
          client.messages.create(body(request) as never, { signal }).withResponse() as unknown as Promise<{
            data: {
              id: string
              model: string
              content: ReadonlyArray<Record<string, unknown>>
              stop_reason: string | null
              usage: ApiUsage
            }
            request_id: string | null | undefined
          }>,
        catch: mapError
      }).pipe(Effect.map(({ data, request_id }) => ({
        id: data.id,
        model: data.model,
        content: data.content,
        stopReason: data.stop_reason,
        usage: fromApiUsage(data.usage),
        ...(request_id ? { requestId: request_id } : {})
      })))

    const stream = (request: MessagesRequest): Stream.Stream<StreamEvent, ProviderError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        yield* validatePrompt({ ...request, stream: true })
        const controller = new AbortController()
        yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
        const { data: events, request_id } = yield* Effect.tryPromise({
          try: () =>
            client.messages.create({ ...body(request), stream: true } as never, { signal: controller.signal })
              .withResponse() as unknown as Promise<{ data: AsyncIterable<SdkEvent>; request_id: string | null | undefined }>,
          catch: mapError
        })
        let id = ""
        let model = request.model
        let usage = fromApiUsage({ input_tokens: 0, output_tokens: 0 })
        let stopReason: string | null = null
        const blocks: Array<Record<string, unknown>> = []
        let completed = false
        const toEvents = (e: SdkEvent): ReadonlyArray<StreamEvent> => {
          switch (e.type) {
            case "message_start": {
              id = e.message!.id
              model = e.message!.model
              usage = fromApiUsage(e.message!.usage)
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
              return []
            }
            case "message_delta": {
              stopReason = e.delta?.stop_reason ?? stopReason
              if (e.usage !== undefined) {
                usage = fromApiUsage({
                  input_tokens: e.usage.input_tokens ?? usage.input,
                  cache_creation_input_tokens: e.usage.cache_creation_input_tokens ??
                    usage.cacheCreation5m + usage.cacheCreation1h,
                  cache_read_input_tokens: e.usage.cache_read_input_tokens ?? usage.cacheRead,
                  cache_creation: e.usage.cache_creation ?? {
                    ephemeral_5m_input_tokens: usage.cacheCreation5m,
                    ephemeral_1h_input_tokens: usage.cacheCreation1h
                  },
                  output_tokens: e.usage.output_tokens ?? usage.output
                })
              }
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
                  ...(request_id ? { requestId: request_id } : {})
                }
              }]
            }
            default:
              return []
          }
        }
        // pulled by hand, not with Stream.fromAsyncIterable: that one ends with iterator.return(), which
        // an async generator queues behind a pending next() — a stalled body would never finish. Here
        // the scope's abort makes the pending next() reject instead.
        const iterator = events[Symbol.asyncIterator]()
        const pull = Effect.tryPromise({ try: () => iterator.next(), catch: mapError }).pipe(
          Effect.mapError(Option.some),
          Effect.flatMap((r) => (r.done === true ? Effect.fail(Option.none()) : Effect.succeed(r.value)))
        )
        return Stream.repeatEffectOption(pull).pipe(
          Stream.timeoutFail(
            () =>
              new Timeout({
                detail: `no stream event for ${idleMs} ms`,
                ...(request_id ? { requestId: request_id } : {})
              }),
            Duration.millis(idleMs)
          ),
          Stream.mapConcat(toEvents),
          Stream.concat(Stream.suspend(() =>
            completed ? Stream.empty : Stream.fail(
              new ConnectionError({
                detail: "the stream ended before message_stop",
                ...(request_id ? { requestId: request_id } : {})
              })
            )
          ))
        )
      }))

    return { provider: "anthropic", create, stream, client }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: AnthropicOptions): Layer.Layer<LanguageModel, AuthenticationError> =>
  Layer.effect(LanguageModel, make(options))

/**
 * Reads `ANTHROPIC_API_KEY` (redacted), `ANTHROPIC_BASE_URL` and `ANTHROPIC_TIMEOUT_MS`.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<AnthropicOptions> = Config.all({
  apiKey: Config.redacted("ANTHROPIC_API_KEY").pipe(Config.withDefault(Redacted.make(""))),
  baseURL: Config.option(Config.nonEmptyString("ANTHROPIC_BASE_URL")).pipe(Config.map(Option.getOrUndefined)),
  timeoutMs: Config.option(Config.integer("ANTHROPIC_TIMEOUT_MS")).pipe(Config.map(Option.getOrUndefined))
})

/**
 * The layer, configured from the environment (see {@link config}); a missing key fails the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  overrides: Partial<AnthropicOptions> = {}
): Layer.Layer<LanguageModel, AuthenticationError | ConfigError.ConfigError> =>
  Layer.effect(LanguageModel, Effect.flatMap(config, (c) => make({ ...c, ...overrides })))

/**
 * A {@link TokenCounter} backed by `POST /v1/messages/count_tokens`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTokenCounter = (options: AnthropicOptions): Layer.Layer<TokenCounter, AuthenticationError> =>
  Layer.effect(
    TokenCounter,
    Effect.map(make(options), ({ client }) => ({
      countRequest: (request: MessagesRequest) =>
        Effect.tryPromise({
          try: (signal) => {
            const { max_tokens: _m, stream: _s, temperature: _t, stop_sequences: _ss, metadata: _md, cache_control: _cc, ...rest } =
              request
            return client.messages.countTokens(rest as never, { signal })
          },
          catch: mapError
        }).pipe(Effect.map((r) => r.input_tokens))
    }))
  )
