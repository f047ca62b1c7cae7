/**
 * Claude on the cloud platforms, as the simulator's server answers it, so Anthropic's official
 * platform clients are tested over real HTTP:
 *
 * - Bedrock's invoke API: `POST /model/{id}/invoke` (JSON) and `/invoke-with-response-stream` (AWS
 *   event-stream framing, encoded with Smithy's maintained codec: each event a `chunk` frame of
 *   `{"bytes": base64(event)}`); `model` in the path, `anthropic_version` in the body; errors as
 *   Bedrock sends them (`{"message"}`, `x-amzn-errortype`); SigV4 for the
 *   service `bedrock`, or a Bearer API key, required.
 * - Bedrock's Messages endpoint (Mantle): `POST /anthropic/v1/messages` (and count_tokens), SigV4 for
 *   `bedrock-mantle` or a Bearer key.
 * - Vertex AI: `POST /v1/projects/{p}/locations/{r}/publishers/anthropic/models/{model}:rawPredict`,
 *   `:streamRawPredict` (SSE) and `count-tokens:rawPredict`; `anthropic_version` in the body; a Bearer token required (Google's 401 otherwise).
 *
 * Each platform's cache is its own namespace of the simulator — Bedrock per region and identity,
 * Vertex per region and project — so two regions never share a cache entry, as on the platforms.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { EventStreamCodec } from "@smithy/core/event-streams"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import { formatParseError } from "../internal/format.js"
import type { MessagesRequest } from "../Prompt.js"
import { decodeRequest } from "../Prompt.js"
import type { ProviderError } from "../ProviderError.js"
import { retryAfterMs } from "../ProviderError.js"
import type { Frame, Transport } from "./MessagesWire.js"
import { answer, errorResponse, sseTransport } from "./MessagesWire.js"
import type { ScriptStep } from "./Script.js"
import type { SimulatorService } from "./SimulatedProvider.js"

/** who signs a request: SigV4 (its key id, region and service) or a Bearer key */
export type Caller =
  | { readonly _tag: "SigV4"; readonly accessKeyId: string; readonly region: string; readonly service: string }
  | { readonly _tag: "Bearer"; readonly token: string }

/** the caller an `Authorization` header names, if any */
export const callerOf = (authorization: string | undefined): Caller | undefined => {
  if (authorization === undefined) return undefined
  const sig = /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization)
  if (sig !== null) return { _tag: "SigV4", accessKeyId: sig[1]!, region: sig[2]!, service: sig[3]! }
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization)
  return bearer === null ? undefined : { _tag: "Bearer", token: bearer[1]! }
}

const digest = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 12)

/** the cache a Bedrock caller reaches: its region and its identity */
const bedrockNamespace = (platform: string, caller: Caller): string =>
  caller._tag === "SigV4" ? `${platform}:${caller.region}:${caller.accessKeyId}` : `${platform}:bearer:${digest(caller.token)}`

// =============================================================================
// Bedrock
// =============================================================================

const AMZN_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"

/** Bedrock's status and exception type for a typed error */
const bedrockStatus = (error: ProviderError): { readonly status: number; readonly type: string } => {
  switch (error._tag) {
    case "InvalidPrompt":
    case "InvalidRequest":
    case "RequestTooLarge":
      return { status: 400, type: "ValidationException" }
    case "AuthenticationError":
      return { status: 403, type: "UnrecognizedClientException" }
    case "PermissionError":
    case "BillingError":
      return { status: 403, type: "AccessDeniedException" }
    case "NotFound":
      return { status: 404, type: "ResourceNotFoundException" }
    case "RateLimited":
      return { status: 429, type: "ThrottlingException" }
    case "Overloaded":
      return { status: 503, type: "ServiceUnavailableException" }
    case "Timeout":
      return { status: 408, type: "ModelTimeoutException" }
    case "ServerError":
    case "ConnectionError":
      return { status: 500, type: "InternalServerException" }
  }
}

/** Bedrock's error response: `{"message"}` typed by `x-amzn-errortype` */
export const bedrockError = (options: {
  readonly status: number
  readonly type: string
  readonly message: string
  readonly requestId: string
  readonly retryAfterMs?: number | undefined
}) =>
  HttpServerResponse.unsafeJson({ message: options.message }, {
    status: options.status,
    headers: {
      "x-amzn-errortype": `${options.type}${AMZN_TYPE_SUFFIX}`,
      "x-amzn-requestid": options.requestId,
      ...(options.retryAfterMs !== undefined ? { "retry-after": String(Math.ceil(options.retryAfterMs / 1000)) } : {})
    }
  })

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder()
const codec = new EventStreamCodec((bytes) => utf8Decoder.decode(bytes), (text) => utf8Encoder.encode(text))

/** Bedrock's `invoke-with-response-stream`: each event a `chunk` frame of `{"bytes": base64(event)}` */
const eventStreamTransport: Transport = {
  contentType: "application/vnd.amazon.eventstream",
  requestIdHeader: "x-amzn-requestid",
  encode: (frame: Frame) =>
    codec.encode({
      headers: {
        ":event-type": { type: "string", value: "chunk" },
        ":content-type": { type: "string", value: "application/json" },
        ":message-type": { type: "string", value: "event" }
      },
      body: utf8Encoder.encode(JSON.stringify({ bytes: Buffer.from(JSON.stringify(frame.data)).toString("base64") }))
    }),
  errorResponse: (error, requestId) =>
    bedrockError({ ...bedrockStatus(error), message: error.detail, requestId, retryAfterMs: retryAfterMs(error) }),
  scriptedError: (step, requestId) =>
    bedrockError({
      status: step.status,
      type: step.type,
      message: step.message ?? step.type,
      requestId,
      retryAfterMs: step.retryAfterMs ?? (step.retryAfterSeconds === undefined ? undefined : step.retryAfterSeconds * 1000)
    })
}

/** Bedrock's JSON answers: the Messages body, its errors */
const invokeTransport: Transport = { ...eventStreamTransport, contentType: "application/json" }

/**
 * A platform's body as a Messages request: `anthropic_version` is required in the body (the clients
 * move the `anthropic-version` header there; the platforms' docs name `bedrock-2023-05-31` and
 * `vertex-2023-10-16`, the SDKs send their own version), `model` comes from the path.
 */
const platformBody = (json: unknown, model: string | undefined): Either.Either<unknown, string> => {
  if (typeof json !== "object" || json === null) return Either.left("the body must be a JSON object")
  const { anthropic_version, ...rest } = json as Record<string, unknown>
  if (typeof anthropic_version !== "string" || anthropic_version === "") {
    return Either.left("anthropic_version: Field required (the platform takes the API version in the body)")
  }
  return Either.right(model === undefined ? rest : { ...rest, model })
}

const decodeWith = (value: unknown, counting: boolean) =>
  Effect.either(decodeRequest(counting ? { max_tokens: 1, ...(value as object) } : value)).pipe(
    Effect.map(Either.mapLeft((e) => formatParseError(e)))
  )

/**
 * `POST /model/{id}/invoke[-with-response-stream]`.
 */
export const bedrockInvoke = (
  sim: SimulatorService,
  json: Either.Either<unknown, string>,
  requestId: string,
  step: ScriptStep | undefined,
  model: string,
  streamed: boolean
) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const caller = callerOf(request.headers["authorization"])
    const refuse = (status: number, type: string, message: string) => bedrockError({ status, type, message, requestId })
    if (caller === undefined) return refuse(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    if (caller._tag === "SigV4" && caller.service !== "bedrock") {
      return refuse(403, "InvalidSignatureException", `Credential should be scoped to correct service: 'bedrock', not '${caller.service}'`)
    }
    const body = Either.flatMap(json, (j) => platformBody(j, decodeURIComponent(model)))
    if (Either.isLeft(body)) return refuse(400, "ValidationException", body.left)
    const decoded = yield* decodeWith({ ...(body.right as object), ...(streamed ? { stream: true } : {}) }, false)
    if (Either.isLeft(decoded)) return refuse(400, "ValidationException", decoded.left)
    return yield* answer(
      sim.in(bedrockNamespace("bedrock", caller)),
      decoded.right,
      requestId,
      step,
      streamed ? eventStreamTransport : invokeTransport
    )
  })

/**
 * `POST /anthropic/v1/messages` and `/anthropic/v1/messages/count_tokens` (Bedrock Mantle).
 */
export const mantle = (
  sim: SimulatorService,
  json: Either.Either<unknown, string>,
  requestId: string,
  step: ScriptStep | undefined,
  counting: boolean
) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const caller = callerOf(request.headers["authorization"])
    const refuse = (status: number, type: string, message: string) => errorResponse({ status, type, message, requestId })
    if (caller === undefined) return refuse(401, "authentication_error", "SigV4 (service bedrock-mantle) or a Bearer API key is required")
    if (caller._tag === "SigV4" && caller.service !== "bedrock-mantle") {
      return refuse(403, "permission_error", `Credential should be scoped to 'bedrock-mantle', not '${caller.service}'`)
    }
    if (Either.isLeft(json)) return refuse(400, "invalid_request_error", json.left)
    const decoded = yield* decodeWith(json.right, counting)
    if (Either.isLeft(decoded)) return refuse(400, "invalid_request_error", decoded.left)
    if (counting) {
      return HttpServerResponse.unsafeJson({ input_tokens: sim.countTokens(decoded.right) }, { headers: { "request-id": requestId } })
    }
    return yield* answer(sim.in(bedrockNamespace("bedrock-mantle", caller)), decoded.right, requestId, step)
  })

// =============================================================================
// Vertex
// =============================================================================

/** Google's error body */
const googleError = (status: number, code: string, message: string, requestId: string) =>
  HttpServerResponse.unsafeJson({ error: { code: status, message, status: code } }, {
    status,
    headers: { "x-request-id": requestId }
  })

/**
 * `POST /v1/projects/{p}/locations/{r}/publishers/anthropic/models/{model}:rawPredict` (and
 * `:streamRawPredict`, `count-tokens:rawPredict`).
 */
export const vertex = (
  sim: SimulatorService,
  json: Either.Either<unknown, string>,
  requestId: string,
  step: ScriptStep | undefined,
  path: { readonly project: string; readonly location: string; readonly tail: string }
) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const caller = callerOf(request.headers["authorization"])
    if (caller?._tag !== "Bearer") {
      return googleError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token.", requestId)
    }
    const match = /^(.+):(rawPredict|streamRawPredict)$/.exec(decodeURIComponent(path.tail))
    if (match === null) return googleError(404, "NOT_FOUND", `no such method: ${path.tail}`, requestId)
    const counting = match[1] === "count-tokens"
    const body = Either.flatMap(json, (j) => platformBody(j, counting ? undefined : match[1]))
    if (Either.isLeft(body)) return errorResponse({ status: 400, type: "invalid_request_error", message: body.left, requestId })
    const streamed = match[2] === "streamRawPredict"
    const decoded = yield* decodeWith({ ...(body.right as object), ...(streamed ? { stream: true } : {}) }, counting)
    if (Either.isLeft(decoded)) return errorResponse({ status: 400, type: "invalid_request_error", message: decoded.left, requestId })
    if (counting) return HttpServerResponse.unsafeJson({ input_tokens: sim.countTokens(decoded.right) })
    const namespace = `vertex:${path.location}:${path.project}`
    return yield* answer(sim.in(namespace), decoded.right as MessagesRequest, requestId, step, sseTransport)
  })
