/**
 * Chat Completions as a service: `chat` (one JSON completion) and `chatStream` (chunks, pulled one at
 * a time). Two implementations: {@link make} over the official `openai` SDK (its own retries off —
 * retries are the caller's, see `RetryPolicy` —, the key held as a `Redacted`, every failure mapped
 * once, here, into a `ProviderError`), and the simulator's (`effect-prompt-cache/simulator`), so the
 * OpenAI `LanguageModel` above it runs unchanged against either.
 *
 * @since 0.2.0
 */
import OpenAI from "openai"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { parseRetryAfter } from "../internal/retryAfter.js"
import { redact } from "../internal/text.js"
import type { ProviderError } from "../ProviderError.js"
import { AuthenticationError, BillingError, ConnectionError, fromStatus, InvalidPrompt, Overloaded, Timeout } from "../ProviderError.js"
import type { ChatChunk, ChatCompletion } from "./ChatWire.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface OpenAIOptions {
  readonly apiKey: Redacted.Redacted<string> | string
  /** default: the SDK's (`https://api.openai.com/v1`); any OpenAI-compatible server */
  readonly baseURL?: string | undefined
  /** per-request timeout in ms (default 600,000, the SDK's) */
  readonly timeoutMs?: number | undefined
  /** `OpenAI-Organization` / `OpenAI-Project`, when the key serves several */
  readonly organization?: string | undefined
  readonly project?: string | undefined
  /** extra headers on every request */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** a stream that delivers no chunk for this long fails with `Timeout` (default 60,000 ms) */
  readonly streamIdleTimeoutMs?: number | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface OpenAIClientService {
  /** a short name for reports: `openai`, or the simulator's */
  readonly name: string
  readonly streamIdleTimeoutMs: number
  /** `POST /chat/completions`; interruption aborts the HTTP request */
  readonly chat: (
    body: Record<string, unknown>
  ) => Effect.Effect<{ readonly data: ChatCompletion; readonly requestId: string | undefined }, ProviderError>
  /**
   * `POST /chat/completions` with `stream: true` and `stream_options.include_usage`: the chunks, pulled
   * one at a time. Closing the scope aborts the HTTP request.
   */
  readonly chatStream: (
    body: Record<string, unknown>
  ) => Effect.Effect<
    { readonly next: Effect.Effect<Option.Option<ChatChunk>, ProviderError>; readonly requestId: string | undefined },
    ProviderError,
    Scope.Scope
  >
}

/**
 * @since 0.2.0
 * @category tags
 */
export class OpenAIClient extends Context.Tag("effect-prompt-cache/OpenAIClient")<OpenAIClient, OpenAIClientService>() {}

/**
 * Maps anything the SDK (or the fetch under it) throws to a typed error, with `secrets`, credential
 * header values and key-shaped strings removed from every text that comes from outside. OpenAI's
 * statuses: 401 a bad key, 429 a rate limit (`insufficient_quota`: no credit, not retryable), 503 an
 * overloaded engine; its `error.type` is `invalid_request_error` for 401 and 404 too, so the status
 * decides.
 *
 * @since 0.2.0
 * @category errors
 */
export const mapError = (u: unknown, secrets: ReadonlyArray<string> = []): ProviderError => {
  const clean = (text: string) => redact(text, secrets)
  if (u instanceof OpenAI.APIConnectionTimeoutError) return new Timeout({ detail: "the request timed out before a response arrived" })
  if (u instanceof OpenAI.APIUserAbortError) return new ConnectionError({ detail: "the request was aborted" })
  if (u instanceof OpenAI.APIConnectionError) {
    const cause = (u as { cause?: unknown }).cause
    return new ConnectionError({ detail: clean(cause instanceof Error ? `${u.message}: ${cause.message}` : u.message) })
  }
  if (u instanceof OpenAI.APIError) {
    const body = u.error as { message?: string } | undefined
    const requestId = u.requestID ?? u.headers?.get("x-request-id") ?? undefined
    const detail = clean(body?.message ?? u.message)
    const base = { detail, ...(requestId ? { requestId } : {}) }
    const retryAfterMs = parseRetryAfter(u.headers)
    if (u.status === 429 && u.code === "insufficient_quota") return new BillingError(base)
    if (u.status === 503) return new Overloaded({ ...base, retryAfterMs })
    // an error inside a stream comes with no status: the SDK raises it as an APIError without one
    if (u.status === undefined) return fromStatus({ status: undefined, type: "api_error", ...base })
    return fromStatus({ status: u.status, ...base, retryAfterMs })
  }
  if (u instanceof OpenAI.OpenAIError) {
    return new InvalidPrompt({ rule: "client_refused", path: "", detail: `the SDK refused to send it: ${clean(u.message)}` })
  }
  return new ConnectionError({ detail: clean(u instanceof Error ? u.message : String(u)) })
}

const requestIdOf = (id: string | null | undefined): string | undefined => (id ? id : undefined)

/**
 * Builds the client over the SDK. Fails with `AuthenticationError` when the key is missing or empty,
 * before any request is sent.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: OpenAIOptions): Effect.Effect<OpenAIClientService, AuthenticationError> =>
  Effect.suspend(() => {
    const key = typeof options.apiKey === "string" ? options.apiKey : Redacted.value(options.apiKey)
    if (key.trim().length === 0) {
      return Effect.fail(new AuthenticationError({ detail: "no API key: set OPENAI_API_KEY or pass apiKey to OpenAIProvider.layer" }))
    }
    const secrets = [key]
    const sdk = new OpenAI({
      apiKey: key,
      maxRetries: 0,
      // the environment is read through Config only (OPENAI_ORG_ID and friends are not picked up behind the caller's back)
      organization: options.organization ?? null,
      project: options.project ?? null,
      ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
      ...(options.headers !== undefined ? { defaultHeaders: options.headers } : {})
    })

    const chat: OpenAIClientService["chat"] = (body) =>
      Effect.tryPromise({
        try: (signal) =>
          sdk.chat.completions.create({ ...body, stream: false } as never, { signal }).withResponse() as unknown as Promise<{
            data: ChatCompletion
            request_id: string | null | undefined
          }>,
        catch: (u) => mapError(u, secrets)
      }).pipe(Effect.map(({ data, request_id }) => ({ data, requestId: requestIdOf(request_id) })))

    const chatStream: OpenAIClientService["chatStream"] = (body) =>
      Effect.gen(function*() {
        const controller = new AbortController()
        yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
        const { data: chunks, request_id } = yield* Effect.tryPromise({
          try: () =>
            sdk.chat.completions.create(
              { ...body, stream: true, stream_options: { include_usage: true } } as never,
              { signal: controller.signal }
            ).withResponse() as unknown as Promise<{ data: AsyncIterable<ChatChunk>; request_id: string | null | undefined }>,
          catch: (u) => mapError(u, secrets)
        })
        // pulled by hand, as the Anthropic client does: the scope's abort makes a pending next() reject
        const iterator = chunks[Symbol.asyncIterator]()
        const next = Effect.tryPromise({ try: () => iterator.next(), catch: (u) => mapError(u, secrets) }).pipe(
          Effect.map((r) => (r.done === true ? Option.none<ChatChunk>() : Option.some(r.value)))
        )
        return { next, requestId: requestIdOf(request_id) }
      })

    return Effect.succeed(OpenAIClient.of({ name: "openai", streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? 60_000, chat, chatStream }))
  })

/**
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: OpenAIOptions): Layer.Layer<OpenAIClient, AuthenticationError> => Layer.effect(OpenAIClient, make(options))

/**
 * The client's options from the standard environment variables: `OPENAI_API_KEY` (redacted; missing →
 * the layer fails with `AuthenticationError`), `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`,
 * `OPENAI_TIMEOUT_MS`.
 *
 * @since 0.2.0
 * @category config
 */
export const configFromEnv: Config.Config<OpenAIOptions> = Config.all({
  apiKey: Config.redacted("OPENAI_API_KEY").pipe(Config.withDefault(Redacted.make(""))),
  baseURL: Config.option(Config.nonEmptyString("OPENAI_BASE_URL")).pipe(Config.map(Option.getOrUndefined)),
  organization: Config.option(Config.nonEmptyString("OPENAI_ORG_ID")).pipe(Config.map(Option.getOrUndefined)),
  project: Config.option(Config.nonEmptyString("OPENAI_PROJECT_ID")).pipe(Config.map(Option.getOrUndefined)),
  timeoutMs: Config.option(Config.integer("OPENAI_TIMEOUT_MS")).pipe(Config.map(Option.getOrUndefined))
})

/**
 * The client from configuration (by default {@link configFromEnv}).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<OpenAIOptions> = configFromEnv
): Layer.Layer<OpenAIClient, AuthenticationError | ConfigError.ConfigError> =>
  Layer.effect(OpenAIClient, Effect.flatMap(Config.unwrap(config), make))
