/**
 * `POST /v1/chat/completions` of the simulator's server: OpenAI's Chat Completions, JSON and SSE
 * (`data: {chunk}` frames, the usage chunk with `stream_options.include_usage`, then `data: [DONE]`),
 * with OpenAI's error body (`{"error": {message, type, param, code}}`) and `x-request-id`. The body
 * is answered through the simulator's OpenAI client (`SimulatedOpenAI`), the one the in-process
 * OpenAI provider uses.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { formatParseError } from "../internal/format.js"
import { decodeChatRequest } from "../openai/ChatWire.js"
import type { ChatChunk } from "../openai/ChatWire.js"
import type { ProviderError } from "../ProviderError.js"
import { retryAfterMs } from "../ProviderError.js"
import type { ScriptStep } from "./Script.js"
import type { SimulatorService } from "./SimulatedProvider.js"
import * as SimulatedOpenAI from "./SimulatedOpenAI.js"
import type { Item } from "./Streaming.js"
import { forked } from "./Streaming.js"

const MAX_MESSAGE = 400

/**
 * OpenAI's status, `type` and `code` for a typed error (an overloaded engine is a 503 on OpenAI).
 */
export const openaiStatus = (error: ProviderError): { readonly status: number; readonly type: string; readonly code: string | null } => {
  switch (error._tag) {
    case "InvalidPrompt":
    case "InvalidRequest":
      return { status: 400, type: "invalid_request_error", code: null }
    case "AuthenticationError":
      return { status: 401, type: "invalid_request_error", code: "invalid_api_key" }
    case "BillingError":
      return { status: 429, type: "insufficient_quota", code: "insufficient_quota" }
    case "PermissionError":
      return { status: 403, type: "invalid_request_error", code: null }
    case "NotFound":
      return { status: 404, type: "invalid_request_error", code: "model_not_found" }
    case "RequestTooLarge":
      return { status: 413, type: "invalid_request_error", code: null }
    case "RateLimited":
      return { status: 429, type: "requests", code: "rate_limit_exceeded" }
    case "Overloaded":
      return { status: 503, type: "server_error", code: "server_is_overloaded" }
    case "ServerError":
      return { status: error.status, type: "server_error", code: null }
    case "Timeout":
      return { status: 504, type: "server_error", code: null }
    case "ConnectionError":
      return { status: 500, type: "server_error", code: null }
  }
}

/** OpenAI's error response */
export const errorResponse = (options: {
  readonly status: number
  readonly type: string
  readonly message: string
  readonly requestId: string
  readonly code?: string | null | undefined
  readonly retryAfterMs?: number | undefined
}) =>
  HttpServerResponse.unsafeJson(
    { error: { message: options.message, type: options.type, param: null, code: options.code ?? null } },
    {
      status: options.status,
      headers: {
        "x-request-id": options.requestId,
        ...(options.retryAfterMs !== undefined
          ? { "retry-after": String(Math.ceil(options.retryAfterMs / 1000)), "retry-after-ms": String(Math.round(options.retryAfterMs)) }
          : {})
      }
    }
  )

/** a typed error in OpenAI's shape */
export const fromProviderError = (error: ProviderError, requestId: string) =>
  errorResponse({ ...openaiStatus(error), message: error.detail, requestId, retryAfterMs: retryAfterMs(error) })

/** a scripted error step in OpenAI's shape, with its `retry-after` if it has one */
export const scriptedError = (step: Extract<ScriptStep, { readonly _tag: "Error" }>, requestId: string) =>
  errorResponse({
    status: step.status,
    type: step.type,
    message: step.message ?? step.type,
    requestId,
    ...(step.retryAfterMs !== undefined || step.retryAfterSeconds !== undefined
      ? { retryAfterMs: step.retryAfterMs ?? (step.retryAfterSeconds ?? 0) * 1000 }
      : {})
  })

const encoder = new TextEncoder()
const frame = (data: unknown) => encoder.encode(`data: ${JSON.stringify(data)}\n\n`)

/** a client holding a connection to a stream that ends now: drop it */
const destroy = (request: HttpServerRequest.HttpServerRequest) => NodeHttpServerRequest.toServerResponse(request).destroy()

/**
 * The route: the body (already parsed as JSON, or why not) decoded as a Chat request, a scripted step
 * played if one is queued, then the simulator's answer.
 */
export const handle = (
  sim: SimulatorService,
  json: Either.Either<unknown, string>,
  requestId: string,
  step: ScriptStep | undefined
) =>
  Effect.gen(function*() {
    const httpRequest = yield* HttpServerRequest.HttpServerRequest
    if (Either.isLeft(json)) return errorResponse({ status: 400, type: "invalid_request_error", message: json.left, requestId })
    const decoded = yield* Effect.either(decodeChatRequest(json.right))
    if (Either.isLeft(decoded)) {
      const message = formatParseError(decoded.left)
      return errorResponse({
        status: 400,
        type: "invalid_request_error",
        message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message,
        requestId
      })
    }
    const body = decoded.right as Record<string, unknown>
    if (step?._tag === "Error") return scriptedError(step, requestId)
    if (step?._tag === "Delay") yield* Effect.sleep(Duration.millis(step.ms))
    if (step?._tag === "Reset" && body.stream !== true) {
      destroy(httpRequest)
      return HttpServerResponse.empty({ status: 500 })
    }
    if (body.stream === true) {
      const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
      // the first chunk decides between an error response and a 200 stream
      const { first, rest } = yield* forked(SimulatedOpenAI.chunks(sim.direct, sim.table, body, includeUsage))
      if (first._tag === "Error") return fromProviderError(first.error, requestId)
      const frames = (item: Item<ChatChunk>): Effect.Effect<ReadonlyArray<Uint8Array>, "reset"> => {
        switch (item._tag) {
          case "Value":
            return Effect.succeed([frame(item.value)])
          case "End":
            return Effect.succeed([encoder.encode("data: [DONE]\n\n")])
          case "Error": {
            if (item.error._tag === "ConnectionError") return Effect.fail("reset" as const)
            const { code, type } = openaiStatus(item.error)
            return Effect.succeed([frame({ error: { message: item.error.detail, type, param: null, code } })])
          }
        }
      }
      // a scripted reset drops the connection once the first chunk is on the wire
      const after = step?._tag === "Reset"
        ? Stream.fromEffect(Effect.sleep(Duration.millis(50))).pipe(Stream.drain, Stream.concat(Stream.fail("reset" as const)))
        : rest.pipe(Stream.mapEffect(frames), Stream.flattenIterables)
      const sent = Stream.fromEffect(frames(first)).pipe(
        Stream.flattenIterables,
        Stream.concat(after),
        Stream.catchAll(() => {
          destroy(httpRequest)
          return Stream.empty
        })
      )
      return HttpServerResponse.stream(sent, {
        contentType: "text/event-stream",
        headers: { "x-request-id": requestId, "cache-control": "no-cache" }
      })
    }
    const result = yield* Effect.either(SimulatedOpenAI.client(sim.direct, sim.table).chat(body))
    if (Either.isLeft(result)) {
      if (result.left._tag === "ConnectionError") {
        destroy(httpRequest)
        return HttpServerResponse.empty({ status: 500 })
      }
      return fromProviderError(result.left, requestId)
    }
    return HttpServerResponse.unsafeJson(result.right.data, { headers: { "x-request-id": result.right.requestId ?? requestId } })
  })
