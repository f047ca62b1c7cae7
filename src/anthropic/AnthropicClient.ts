/**
 * The official `@anthropic-ai/sdk` client as a service: one SDK client, its own retries off (retries
 * are the caller's: see `RetryPolicy`), the key sent in `x-api-key` only, and every failure of the SDK
 * or the fetch under it mapped once, here, into a `ProviderError`. The Anthropic `LanguageModel` and
 * `TokenCounter` layers both sit on one `AnthropicClient`.
 *
 * The key is held as a `Redacted` and never appears in an error, log line or report.
 *
 * @since 0.1.0
 */
import Anthropic from "@anthropic-ai/sdk"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { ProviderError } from "../ProviderError.js"
import { parseRetryAfter } from "../internal/retryAfter.js"
import { redact } from "../internal/text.js"
import { AuthenticationError, ConnectionError, fromStatus, InvalidPrompt, Timeout } from "../ProviderError.js"
import type { ApiUsage } from "../Response.js"

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

/**
 * A Messages API response body, as far as this library reads it.
 *
 * @since 0.1.0
 * @category models
 */
export interface MessageData {
  readonly id: string
  readonly model: string
  readonly content: ReadonlyArray<Record<string, unknown>>
  readonly stop_reason: string | null
  readonly usage: ApiUsage
  /** the API's cache diagnosis (beta), when the request asked for one */
  readonly diagnostics?: unknown
  /** what the API's context editing (beta) cleared */
  readonly context_management?: unknown
}

/**
 * A server-sent event of a streamed Messages API response.
 *
 * @since 0.1.0
 * @category models
 */
export interface SdkEvent {
  readonly type: string
  readonly message?: {
    readonly id: string
    readonly model: string
    readonly usage: ApiUsage
    readonly diagnostics?: unknown
  }
  readonly index?: number
  readonly content_block?: Record<string, unknown>
  readonly delta?: {
    readonly type?: string
    readonly text?: string
    readonly partial_json?: string
    readonly stop_reason?: string | null
  }
  readonly usage?: Partial<ApiUsage>
  /** `message_delta`: what the API's context editing (beta) cleared */
  readonly context_management?: unknown
}

/**
 * Where the client sends: Anthropic's API, or Claude on a cloud platform.
 *
 * @since 0.2.0
 * @category models
 */
export type Platform = "anthropic" | "bedrock" | "bedrock-mantle" | "vertex"

/**
 * The part of an official client (`Anthropic`, `AnthropicBedrock`, `AnthropicBedrockMantle`,
 * `AnthropicVertex`: all `BaseAnthropic`s) that this service calls.
 *
 * @since 0.2.0
 * @category models
 */
export interface SdkClient {
  readonly messages: {
    readonly create: (body: never, options?: { readonly signal?: AbortSignal | undefined }) => { withResponse(): Promise<unknown> }
    readonly countTokens?: ((body: never, options?: { readonly signal?: AbortSignal | undefined }) => Promise<{ readonly input_tokens: number }>) | undefined
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AnthropicClientService {
  /** the SDK client, for calls this service does not wrap */
  readonly sdk: SdkClient
  readonly options: AnthropicOptions
  /** the platform it sends to (default `anthropic`) */
  readonly platform: Platform
  /**
   * where the platform's cache is shared (`bedrock:us-east-1:…`, `vertex:europe-west1:my-project`),
   * empty on Anthropic's API: warm-prefix keys of two scopes never meet
   */
  readonly cacheScope: string
  /** `POST /v1/messages`; interruption aborts the HTTP request */
  readonly createMessage: (
    body: Record<string, unknown>
  ) => Effect.Effect<{ readonly data: MessageData; readonly requestId: string | undefined }, ProviderError>
  /**
   * `POST /v1/messages` with `stream: true`: the events, pulled one at a time. Closing the scope aborts
   * the HTTP request, which makes a pending pull fail instead of hanging.
   */
  readonly streamMessage: (
    body: Record<string, unknown>
  ) => Effect.Effect<
    {
      readonly next: Effect.Effect<Option.Option<SdkEvent>, ProviderError>
      readonly requestId: string | undefined
    },
    ProviderError,
    Scope.Scope
  >
  /** `POST /v1/messages/count_tokens`; `undefined` where the platform does not serve it (Bedrock's invoke API) */
  readonly countTokens: ((body: Record<string, unknown>) => Effect.Effect<number, ProviderError>) | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AnthropicClient extends Context.Tag("effect-prompt-cache/AnthropicClient")<
  AnthropicClient,
  AnthropicClientService
>() {}

/**
 * Maps anything the SDK (or the fetch under it) throws to a typed error. Every text that comes from
 * outside (a server's error message, a connection failure) has `secrets`, credential header values and
 * key-shaped strings removed: a proxy or server that echoes request headers cannot make the key reach
 * an error message, a log line or a report. A refusal of the SDK's own, before anything was sent (a
 * request it would not send without streaming, say), is an `InvalidPrompt`: no retry can fix it.
 *
 * @since 0.1.0
 * @category errors
 */
export const mapError = (u: unknown, secrets: ReadonlyArray<string> = []): ProviderError => {
  const clean = (text: string) => redact(text, secrets)
  if (u instanceof Anthropic.APIConnectionTimeoutError) {
    return new Timeout({ detail: "the request timed out before a response arrived" })
  }
  if (u instanceof Anthropic.APIUserAbortError) {
    return new ConnectionError({ detail: "the request was aborted" })
  }
  if (u instanceof Anthropic.APIConnectionError) {
    const cause = (u as { cause?: unknown }).cause
    return new ConnectionError({
      detail: clean(cause instanceof Error ? `${u.message}: ${cause.message}` : u.message)
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
      detail: clean(body?.error?.message ?? u.apiMessage ?? u.message),
      requestId: requestId ?? undefined,
      retryAfterMs: parseRetryAfter(u.headers)
    })
  }
  if (u instanceof Anthropic.AnthropicError) {
    return new InvalidPrompt({ rule: "client_refused", path: "", detail: `the SDK refused to send it: ${clean(u.message)}` })
  }
  const message = u instanceof Error ? u.message : String(u)
  return new ConnectionError({ detail: clean(message) })
}

const requestIdOf = (id: string | null | undefined): string | undefined => (id ? id : undefined)

/**
 * Builds the client. Fails with `AuthenticationError` when the key is missing or empty, before any
 * request is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: AnthropicOptions): Effect.Effect<AnthropicClientService, AuthenticationError> =>
  Effect.suspend(() => {
    const key = typeof options.apiKey === "string" ? options.apiKey : Redacted.value(options.apiKey)
    if (key.trim().length === 0) {
      return Effect.fail(
        new AuthenticationError({ detail: "no API key: set ANTHROPIC_API_KEY or pass apiKey to AnthropicProvider.layer" })
      )
    }
    // The key goes in `x-api-key`, the API's documented header; null credentials keep the SDK from
    // reading the environment or adding a second (Bearer) copy of the key.
    const sdk = new Anthropic({
      apiKey: null,
      authToken: null,
      maxRetries: 0,
      defaultHeaders: { ...options.headers, "x-api-key": key },
      ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {})
    })
    return Effect.succeed(fromSdk(sdk as unknown as SdkClient, { options, secrets: [key] }))
  })

/**
 * The service over an official client built elsewhere (the Bedrock and Vertex layers build theirs):
 * its own retries must be off (`maxRetries: 0`). `secrets` are removed from every error text.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromSdk = (
  sdk: SdkClient,
  info: {
    readonly options: AnthropicOptions
    readonly secrets: ReadonlyArray<string>
    readonly platform?: Platform | undefined
    readonly cacheScope?: string | undefined
    /** the platform serves count_tokens (default true) */
    readonly countTokens?: boolean | undefined
    /** the platform's own error mapping, tried first */
    readonly mapError?: ((u: unknown, secrets: ReadonlyArray<string>) => ProviderError | undefined) | undefined
  }
): AnthropicClientService => {
    const secrets = info.secrets
    const mapFailure = (u: unknown, s: ReadonlyArray<string>) => info.mapError?.(u, s) ?? mapError(u, s)

    const createMessage: AnthropicClientService["createMessage"] = (body) =>
      Effect.tryPromise({
        try: (signal) =>
          sdk.messages.create(body as never, { signal }).withResponse() as unknown as Promise<{
            data: MessageData
            request_id: string | null | undefined
          }>,
        catch: (u) => mapFailure(u, secrets)
      }).pipe(Effect.map(({ data, request_id }) => ({ data, requestId: requestIdOf(request_id) })))

    const streamMessage: AnthropicClientService["streamMessage"] = (body) =>
      Effect.gen(function*() {
        const controller = new AbortController()
        yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
        const { data: events, request_id } = yield* Effect.tryPromise({
          try: () =>
            sdk.messages.create({ ...body, stream: true } as never, { signal: controller.signal })
              .withResponse() as unknown as Promise<{ data: AsyncIterable<SdkEvent>; request_id: string | null | undefined }>,
          catch: (u) => mapFailure(u, secrets)
        })
        // pulled by hand, not with Stream.fromAsyncIterable: that one ends with iterator.return(), which
        // an async generator queues behind a pending next() — a stalled body would never finish. Here
        // the scope's abort makes the pending next() reject instead.
        const iterator = events[Symbol.asyncIterator]()
        const next = Effect.tryPromise({ try: () => iterator.next(), catch: (u) => mapFailure(u, secrets) }).pipe(
          Effect.map((r) => (r.done === true ? Option.none<SdkEvent>() : Option.some(r.value)))
        )
        return { next, requestId: requestIdOf(request_id) }
      })

    const count = sdk.messages.countTokens
    const countTokens: AnthropicClientService["countTokens"] = info.countTokens === false || count === undefined
      ? undefined
      : (body) =>
        Effect.tryPromise({
          try: (signal) => count.call(sdk.messages, body as never, { signal }),
          catch: (u) => mapFailure(u, secrets)
        }).pipe(Effect.map((r) => r.input_tokens))

    return AnthropicClient.of({
      sdk,
      options: info.options,
      platform: info.platform ?? "anthropic",
      cacheScope: info.cacheScope ?? "",
      createMessage,
      streamMessage,
      countTokens
    })
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: AnthropicOptions): Layer.Layer<AnthropicClient, AuthenticationError> =>
  Layer.effect(AnthropicClient, make(options))

/**
 * The client's options from the standard environment variables: `ANTHROPIC_API_KEY` (redacted;
 * missing → the layer fails with `AuthenticationError`), `ANTHROPIC_BASE_URL`, `ANTHROPIC_TIMEOUT_MS`.
 *
 * @since 0.1.0
 * @category config
 */
export const configFromEnv: Config.Config<AnthropicOptions> = Config.all({
  apiKey: Config.redacted("ANTHROPIC_API_KEY").pipe(Config.withDefault(Redacted.make(""))),
  baseURL: Config.option(Config.nonEmptyString("ANTHROPIC_BASE_URL")).pipe(Config.map(Option.getOrUndefined)),
  timeoutMs: Config.option(Config.integer("ANTHROPIC_TIMEOUT_MS")).pipe(Config.map(Option.getOrUndefined))
})

/**
 * The client from configuration: each option a `Config` of the caller's choosing (the caller names
 * the environment variables; see {@link configFromEnv} for the standard ones).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<AnthropicOptions> = configFromEnv
): Layer.Layer<AnthropicClient, AuthenticationError | ConfigError.ConfigError> =>
  Layer.effect(AnthropicClient, Effect.flatMap(Config.unwrap(config), make))
