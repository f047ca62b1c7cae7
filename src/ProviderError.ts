/**
 * The typed errors of every provider boundary, as one `Schema.TaggedError` union.
 *
 * Foreign failures (SDK errors, HTTP statuses, stream error events) are mapped into these once, at the
 * provider's edge. Whether an error is worth retrying is decided here, in one place: {@link isRetryable}.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const common = {
  detail: Schema.String,
  requestId: Schema.optional(Schema.String)
}

const withRequestId = (text: string, requestId: string | undefined) =>
  requestId === undefined ? text : `${text} (request ${requestId})`

/**
 * A prompt broke one of the API's structural rules; found locally, before anything was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPrompt extends Schema.TaggedError<InvalidPrompt>("effect-prompt-cache/InvalidPrompt")(
  "InvalidPrompt",
  {
    rule: Schema.Literal(
      "empty_messages",
      "first_message_role",
      "empty_text",
      "tool_use_without_result",
      "orphan_tool_result",
      "too_many_breakpoints",
      "ttl_order",
      "breakpoint_on_invalid_block",
      "max_tokens_zero",
      "invalid_shape",
      "duplicate_tool_use_id",
      "unknown_field",
      "max_tokens_over_limit",
      "context_window_exceeded",
      "client_refused",
      "not_expressible"
    ),
    path: Schema.String,
    detail: Schema.String,
    messageIndex: Schema.optional(Schema.Number),
    blockIndex: Schema.optional(Schema.Number),
    id: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `invalid prompt at ${this.path}: ${this.detail}`
  }
}

/**
 * 400 `invalid_request_error` from the API.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>("effect-prompt-cache/InvalidRequest")(
  "InvalidRequest",
  common
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return withRequestId(`invalid request: ${this.detail}`, this.requestId)
  }
}

/**
 * 401 `authentication_error`, or a missing API key found before any request.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthenticationError
  extends Schema.TaggedError<AuthenticationError>("effect-prompt-cache/AuthenticationError")(
    "AuthenticationError",
    common
  )
{
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return withRequestId(`authentication failed: ${this.detail}`, this.requestId)
  }
}

/**
 * 402 `billing_error`.
 *
 * @since 0.1.0
 * @category errors
 */
export class BillingError extends Schema.TaggedError<BillingError>("effect-prompt-cache/BillingError")(
  "BillingError",
  common
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return withRequestId(`billing error: ${this.detail}`, this.requestId)
  }
}

/**
 * 403 `permission_error`.
 *
 * @since 0.1.0
 * @category errors
 */
export class PermissionError extends Schema.TaggedError<PermissionError>("effect-prompt-cache/PermissionError")(
  "PermissionError",
  common
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return withRequestId(`permission denied: ${this.detail}`, this.requestId)
  }
}

/**
 * 404 `not_found_error` (an unknown model, for instance).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedError<NotFound>("effect-prompt-cache/NotFound")("NotFound", common) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return withRequestId(`not found: ${this.detail}`, this.requestId)
  }
}

/**
 * 413 `request_too_large`.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestTooLarge extends Schema.TaggedError<RequestTooLarge>("effect-prompt-cache/RequestTooLarge")(
  "RequestTooLarge",
  common
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return withRequestId(`request too large: ${this.detail}`, this.requestId)
  }
}

/**
 * 429 `rate_limit_error`. `retryAfterMs` is the server's `retry-after(-ms)` when it gave one; a 429
 * without it (a spend cap) does not clear soon.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>("effect-prompt-cache/RateLimited")(
  "RateLimited",
  { ...common, retryAfterMs: Schema.optional(Schema.Number) }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const after = this.retryAfterMs === undefined ? "no retry-after given" : `retry after ${this.retryAfterMs} ms`
    return withRequestId(`rate limited (${after}): ${this.detail}`, this.requestId)
  }
}

/**
 * 529 `overloaded_error`.
 *
 * @since 0.1.0
 * @category errors
 */
export class Overloaded extends Schema.TaggedError<Overloaded>("effect-prompt-cache/Overloaded")(
  "Overloaded",
  { ...common, retryAfterMs: Schema.optional(Schema.Number) }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return withRequestId(`provider overloaded: ${this.detail}`, this.requestId)
  }
}

/**
 * 500 `api_error` and other 5xx statuses (502, 503).
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Schema.TaggedError<ServerError>("effect-prompt-cache/ServerError")(
  "ServerError",
  { ...common, status: Schema.Number, retryAfterMs: Schema.optional(Schema.Number) }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return withRequestId(`server error ${this.status}: ${this.detail}`, this.requestId)
  }
}

/**
 * 504 `timeout_error`, or the client's own request timeout.
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Schema.TaggedError<Timeout>("effect-prompt-cache/Timeout")("Timeout", common) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return withRequestId(`timed out: ${this.detail}`, this.requestId)
  }
}

/**
 * The connection failed or was reset (also mid-stream, after the response had begun).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionError extends Schema.TaggedError<ConnectionError>("effect-prompt-cache/ConnectionError")(
  "ConnectionError",
  common
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return withRequestId(`connection error: ${this.detail}`, this.requestId)
  }
}

/**
 * Every error a provider call can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type ProviderError =
  | InvalidPrompt
  | InvalidRequest
  | AuthenticationError
  | BillingError
  | PermissionError
  | NotFound
  | RequestTooLarge
  | RateLimited
  | Overloaded
  | ServerError
  | Timeout
  | ConnectionError

/**
 * @since 0.1.0
 * @category schemas
 */
export const ProviderError = Schema.Union(
  InvalidPrompt,
  InvalidRequest,
  AuthenticationError,
  BillingError,
  PermissionError,
  NotFound,
  RequestTooLarge,
  RateLimited,
  Overloaded,
  ServerError,
  Timeout,
  ConnectionError
)

/**
 * The tags of {@link ProviderError}: a small fixed set, safe as a metric tag.
 *
 * @since 0.1.0
 * @category models
 */
export type ProviderErrorTag = ProviderError["_tag"]

const retryableTags: ReadonlySet<ProviderErrorTag> = new Set([
  "RateLimited",
  "Overloaded",
  "ServerError",
  "Timeout",
  "ConnectionError"
])

/**
 * Whether a retry can succeed: 429, 529, 5xx, timeouts and connection failures. Request errors (4xx)
 * fail at once.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (error: ProviderError): boolean => retryableTags.has(error._tag)

/**
 * @since 0.1.0
 * @category predicates
 */
export const isProviderError: (u: unknown) => u is ProviderError = Schema.is(ProviderError)

/**
 * The server's requested wait, if the error carries one.
 *
 * @since 0.1.0
 * @category utils
 */
export const retryAfterMs = (error: ProviderError): number | undefined =>
  "retryAfterMs" in error ? error.retryAfterMs : undefined

/**
 * Maps an HTTP status and the API's `error.type` to a typed error. Used by the Anthropic layer and
 * by the simulator's HTTP server, so both speak the same language.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromStatus = (options: {
  readonly status: number | undefined
  readonly type?: string | undefined
  readonly detail: string
  readonly requestId?: string | undefined
  readonly retryAfterMs?: number | undefined
}): ProviderError => {
  const { detail, requestId, retryAfterMs } = options
  const base = { detail, requestId }
  switch (options.type) {
    case "invalid_request_error":
      return new InvalidRequest(base)
    case "authentication_error":
      return new AuthenticationError(base)
    case "billing_error":
      return new BillingError(base)
    case "permission_error":
      return new PermissionError(base)
    case "not_found_error":
      return new NotFound(base)
    case "request_too_large":
      return new RequestTooLarge(base)
    case "rate_limit_error":
      return new RateLimited({ ...base, retryAfterMs })
    case "overloaded_error":
      return new Overloaded({ ...base, retryAfterMs })
    case "timeout_error":
      return new Timeout(base)
    case "api_error":
      return new ServerError({ ...base, status: options.status ?? 500, retryAfterMs })
  }
  const status = options.status
  if (status === undefined) return new ConnectionError(base)
  if (status === 400 || status === 422) return new InvalidRequest(base)
  if (status === 401) return new AuthenticationError(base)
  if (status === 402) return new BillingError(base)
  if (status === 403) return new PermissionError(base)
  if (status === 404) return new NotFound(base)
  if (status === 408 || status === 504) return new Timeout(base)
  if (status === 413) return new RequestTooLarge(base)
  if (status === 429) return new RateLimited({ ...base, retryAfterMs })
  if (status === 529) return new Overloaded({ ...base, retryAfterMs })
  if (status >= 500) return new ServerError({ ...base, status, retryAfterMs })
  return new InvalidRequest(base)
}

/**
 * The API's `(status, error.type)` for a typed error: the inverse of {@link fromStatus}, used by the
 * simulator's HTTP server to answer as the API would.
 *
 * @since 0.1.0
 * @category utils
 */
export const toStatus = (error: ProviderError): { readonly status: number; readonly type: string } => {
  switch (error._tag) {
    case "InvalidPrompt":
    case "InvalidRequest":
      return { status: 400, type: "invalid_request_error" }
    case "AuthenticationError":
      return { status: 401, type: "authentication_error" }
    case "BillingError":
      return { status: 402, type: "billing_error" }
    case "PermissionError":
      return { status: 403, type: "permission_error" }
    case "NotFound":
      return { status: 404, type: "not_found_error" }
    case "RequestTooLarge":
      return { status: 413, type: "request_too_large" }
    case "RateLimited":
      return { status: 429, type: "rate_limit_error" }
    case "Overloaded":
      return { status: 529, type: "overloaded_error" }
    case "ServerError":
      return { status: error.status, type: "api_error" }
    case "Timeout":
      return { status: 504, type: "timeout_error" }
    case "ConnectionError":
      return { status: 500, type: "api_error" }
  }
}
