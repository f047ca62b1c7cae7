/**
 * The Messages API's wire as the simulator's server writes it: the message body, the event sequence of
 * a streamed message (as frames, rendered as server-sent events, or by another transport: Bedrock's
 * event-stream), the error body. Anthropic's routes and the cloud platforms' share it.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import type { LanguageModelService } from "../LanguageModel.js"
import type { MessagesRequest } from "../Prompt.js"
import type { ProviderError } from "../ProviderError.js"
import { retryAfterMs, toStatus } from "../ProviderError.js"
import type { Response, StreamEvent } from "../Response.js"
import { emptyUsage, toApiDiagnostics, toApiUsage } from "../Response.js"
import type { ScriptStep } from "./Script.js"
import type { Item } from "./Streaming.js"
import { forked } from "./Streaming.js"

/** one event of a streamed message: its name and its JSON */
export interface Frame {
  readonly event: string
  readonly data: unknown
}

const sse = (event: string, data: unknown): Frame => ({ event, data })

/** a frame as server-sent events carry it */
export const renderSse = (frame: Frame): string => `event: ${frame.event}\ndata: ${JSON.stringify(frame.data)}\n\n`

/**
 * The SSE frames of one stream event, in the API's event sequence (`message_start` + `ping`, a text
 * block's start/delta/stop, `message_delta` + `message_stop`). A scripted `StreamError` sends an
 * `error` event right after `message_start`.
 */
export const encodeEvent = (
  e: StreamEvent,
  requestId: string,
  afterStart: ScriptStep | undefined,
  state: { textBlockOpen: boolean }
): ReadonlyArray<Frame> => {
  switch (e._tag) {
    case "Begun": {
      const start = sse("message_start", {
        type: "message_start",
        message: {
          id: e.id,
          type: "message",
          role: "assistant",
          model: e.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: toApiUsage(e.usage ?? emptyUsage),
          ...(e.diagnosis !== undefined ? { diagnostics: toApiDiagnostics(e.diagnosis) } : {})
        }
      })
      if (afterStart?._tag === "StreamError") {
        return [
          start,
          sse("error", errorBody(afterStart.type, afterStart.message ?? afterStart.type, requestId))
        ]
      }
      return [start, sse("ping", { type: "ping" })]
    }
    case "TextDelta": {
      // the text block opens at its first delta and closes when the message completes
      const start = state.textBlockOpen ? [] : [
        sse("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })
      ]
      state.textBlockOpen = true
      return [...start, sse("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: e.text } })]
    }
    case "Completed": {
      const closeText = state.textBlockOpen ? [sse("content_block_stop", { type: "content_block_stop", index: 0 })] : []
      // tool_use blocks (a forced tool_choice) come whole: start, their input as one JSON delta, stop
      const tools = e.response.content.flatMap((block, index) =>
        block.type !== "tool_use" ? [] : [
          sse("content_block_start", {
            type: "content_block_start",
            index,
            content_block: { type: "tool_use", id: block.id, name: block.name, input: {} }
          }),
          sse("content_block_delta", {
            type: "content_block_delta",
            index,
            delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) }
          }),
          sse("content_block_stop", { type: "content_block_stop", index })
        ]
      )
      return [
        ...closeText,
        ...tools,
        sse("message_delta", {
          type: "message_delta",
          delta: { stop_reason: e.response.stopReason, stop_sequence: null },
          usage: { output_tokens: e.response.usage.output },
          ...contextManagementOf(e.response)
        }),
        sse("message_stop", { type: "message_stop" })
      ]
    }
  }
}

export const errorBody = (type: string, message: string, requestId: string) => ({
  type: "error",
  error: { type, message },
  request_id: requestId
})

export const errorResponse = (options: {
  status: number
  type: string
  message: string
  requestId: string
  /** sent as both `retry-after` (whole seconds) and `retry-after-ms` */
  retryAfterMs?: number | undefined
  /** sent as `retry-after` alone (seconds), as the API does */
  retryAfterSecondsOnly?: number | undefined
  /** sent as `retry-after-ms` alone */
  retryAfterMsOnly?: number | undefined
  /** the connection is closed after the answer (the body was not read to its end) */
  close?: boolean | undefined
}) => {
  const headers: Record<string, string> = { "request-id": options.requestId }
  if (options.close === true) headers.connection = "close"
  if (options.retryAfterMs !== undefined) {
    headers["retry-after"] = String(Math.ceil(options.retryAfterMs / 1000))
    headers["retry-after-ms"] = String(Math.round(options.retryAfterMs))
  }
  if (options.retryAfterSecondsOnly !== undefined) headers["retry-after"] = String(options.retryAfterSecondsOnly)
  if (options.retryAfterMsOnly !== undefined) headers["retry-after-ms"] = String(Math.round(options.retryAfterMsOnly))
  return HttpServerResponse.unsafeJson(errorBody(options.type, options.message, options.requestId), {
    status: options.status,
    headers
  })
}

export const fromProviderError = (error: ProviderError, requestId: string) => {
  const { status, type } = toStatus(error)
  return errorResponse({
    status,
    type,
    message: error.detail,
    requestId: ("requestId" in error ? error.requestId : undefined) ?? requestId,
    retryAfterMs: retryAfterMs(error)
  })
}

export const messageJson = (r: Response) => ({
  id: r.id,
  type: "message",
  role: "assistant",
  model: r.model,
  content: r.content,
  stop_reason: r.stopReason,
  stop_sequence: null,
  usage: toApiUsage(r.usage),
  ...(r.diagnosis !== undefined ? { diagnostics: toApiDiagnostics(r.diagnosis) } : {}),
  ...contextManagementOf(r)
})

/** `context_management.applied_edits`, as the API reports what its context editing cleared */
const contextManagementOf = (r: Response) =>
  r.contextEdits === undefined ? {} : {
    context_management: {
      applied_edits: r.contextEdits.map((e) => ({
        type: e.type,
        cleared_input_tokens: e.clearedInputTokens,
        ...(e.clearedToolUses !== undefined ? { cleared_tool_uses: e.clearedToolUses } : {})
      }))
    }
  }


const encoder = new TextEncoder()

/** how a streamed message goes over the wire */
export interface Transport {
  readonly contentType: string
  readonly requestIdHeader: string
  readonly encode: (frame: Frame) => Uint8Array
  /** the answer when the call fails before the response begins */
  readonly errorResponse: (error: ProviderError, requestId: string) => HttpServerResponse.HttpServerResponse
  /** a scripted error, in the platform's shape */
  readonly scriptedError: (step: Extract<ScriptStep, { _tag: "Error" }>, requestId: string) => HttpServerResponse.HttpServerResponse
}

/** server-sent events, as Anthropic's API (and Vertex's `streamRawPredict`) send them */
export const sseTransport: Transport = {
  contentType: "text/event-stream",
  requestIdHeader: "request-id",
  encode: (frame) => encoder.encode(renderSse(frame)),
  errorResponse: fromProviderError,
  scriptedError: (step, requestId) =>
    errorResponse({
      status: step.status,
      type: step.type,
      message: step.message ?? step.type,
      requestId,
      // each header exactly as scripted: a client must read either one alone
      retryAfterSecondsOnly: step.retryAfterSeconds,
      retryAfterMsOnly: step.retryAfterMs
    })
}

/**
 * The simulator's answer to a decoded Messages request: a queued script step first (an error, a
 * delay, a reset), then the model's response — streamed when the request asks, over `transport`.
 */
export const answer = (
  lm: LanguageModelService,
  body: MessagesRequest,
  requestId: string,
  step: ScriptStep | undefined,
  transport: Transport = sseTransport
) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (step?._tag === "Error") return transport.scriptedError(step, requestId)
    if (step?._tag === "Delay") yield* Effect.sleep(Duration.millis(step.ms))
    if (body.stream === true) return yield* streamResponse(lm, body, requestId, step, transport)
    if (step?._tag === "Reset") {
      NodeHttpServerRequest.toServerResponse(request).destroy()
      return HttpServerResponse.empty({ status: 500 })
    }
    const result = yield* Effect.either(lm.create(body))
    if (Either.isLeft(result)) {
      if (result.left._tag === "ConnectionError") {
        NodeHttpServerRequest.toServerResponse(request).destroy()
        return HttpServerResponse.empty({ status: 500 })
      }
      return transport.errorResponse(result.left, requestId)
    }
    return HttpServerResponse.unsafeJson(messageJson(result.right), {
      headers: { [transport.requestIdHeader]: result.right.requestId ?? requestId }
    })
  })

/**
 * A streamed answer from the model: the simulator's events as frames of the transport (SSE, or AWS
 * event-stream on Bedrock), sent as they come, the platform's error response when the call fails
 * before it begins, an `error` event when it fails after; a scripted
 * `StreamError`, `Reset` or `Stall` takes over after `message_start`. A client that goes away
 * interrupts the simulated call.
 */
export const streamResponse = (
  lm: LanguageModelService,
  request: MessagesRequest,
  requestId: string,
  afterStart: ScriptStep | undefined,
  transport: Transport = sseTransport
) =>
  Effect.gen(function*() {
    const { first, httpRequest, rest: queued } = yield* forked(lm.stream(request))
    if (first._tag === "Error") return transport.errorResponse(first.error, requestId)
    const framing = { textBlockOpen: false }
    const frames = (item: Item<StreamEvent>): Effect.Effect<ReadonlyArray<Frame>, "reset"> => {
      if (item._tag === "End") return Effect.succeed([])
      if (item._tag === "Error") {
        if (item.error._tag === "ConnectionError") return Effect.fail("reset" as const)
        const { type } = toStatus(item.error)
        return Effect.succeed([sse("error", errorBody(type, item.error.detail, requestId))])
      }
      return Effect.succeed(encodeEvent(item.value, requestId, afterStart, framing))
    }
    const stopAfterFirst = afterStart?._tag === "StreamError" || afterStart?._tag === "Reset" ||
      afterStart?._tag === "Stall"
    // a reset waits a moment so that message_start is on the wire before the socket drops
    const reset = Stream.fromEffect(Effect.sleep(Duration.millis(50))).pipe(
      Stream.drain,
      Stream.concat(Stream.fail("reset" as const))
    )
    const rest = stopAfterFirst
      ? (afterStart?._tag === "Reset" ? reset : afterStart?._tag === "Stall" ? Stream.never : Stream.empty)
      : queued.pipe(Stream.mapEffect(frames), Stream.flattenIterables)
    const body = Stream.fromEffect(frames(first)).pipe(
      Stream.flattenIterables,
      Stream.concat(rest),
      Stream.map(transport.encode),
      Stream.catchAll(() => {
        // a reset: destroy the socket so the client sees the connection drop mid-stream
        NodeHttpServerRequest.toServerResponse(httpRequest).destroy()
        return Stream.empty
      })
    )
    return HttpServerResponse.stream(body, {
      contentType: transport.contentType,
      headers: { [transport.requestIdHeader]: requestId, "cache-control": "no-cache" }
    })
  })

