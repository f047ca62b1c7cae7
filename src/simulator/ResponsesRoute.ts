/**
 * `POST /v1/responses` of the simulator's server: OpenAI's Responses API, JSON and SSE (`event:` +
 * `data:` frames, `response.created` first, `response.completed` with the usage last), answered as the
 * Chat Completions body it asks for (`ResponsesWire.toChatBody`) through the same simulated OpenAI
 * client as `/v1/chat/completions` — so both endpoints follow the same cache rules call by call. For
 * clients that speak only this API (`@effect/ai-openai`).
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { decodeChatRequest } from "../openai/ChatWire.js"
import type { ChatChunk } from "../openai/ChatWire.js"
import { fromCompletion, makeEventWriter, toChatBody } from "../openai/ResponsesWire.js"
import { errorResponse, fromProviderError, openaiStatus, scriptedError } from "./ChatRoute.js"
import type { ScriptStep } from "./Script.js"
import type { SimulatorService } from "./SimulatedProvider.js"
import * as SimulatedOpenAI from "./SimulatedOpenAI.js"
import type { Item } from "./Streaming.js"
import { forked } from "./Streaming.js"

const encoder = new TextEncoder()
const frames = (events: ReadonlyArray<Record<string, unknown>>): ReadonlyArray<Uint8Array> =>
  events.map((e) => encoder.encode(`event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`))

/**
 * The route: the body (parsed as JSON, or why not) read as the Chat body it asks for, a scripted
 * error or delay played if one is queued, then the simulator's answer.
 */
export const handle = (
  sim: SimulatorService,
  json: Either.Either<unknown, string>,
  requestId: string,
  step: ScriptStep | undefined
) =>
  Effect.gen(function*() {
    const invalid = (message: string) => errorResponse({ status: 400, type: "invalid_request_error", message, requestId })
    if (Either.isLeft(json)) return invalid(json.left)
    const chat = toChatBody(json.right)
    if (Either.isLeft(chat)) return invalid(chat.left)
    const decoded = yield* Effect.either(decodeChatRequest(chat.right))
    if (Either.isLeft(decoded)) return invalid("the input has no message to answer")
    const body = decoded.right as Record<string, unknown>
    if (step?._tag === "Error") return scriptedError(step, requestId)
    if (step?._tag === "Delay") yield* Effect.sleep(Duration.millis(step.ms))
    if (body.stream === true) {
      const { first, rest } = yield* forked(SimulatedOpenAI.chunks(sim.direct, sim.table, body, true))
      if (first._tag === "Error") return fromProviderError(first.error, requestId)
      const writer = makeEventWriter()
      const toFrames = (item: Item<ChatChunk>): ReadonlyArray<Uint8Array> => {
        switch (item._tag) {
          case "Value":
            return frames(writer.push(item.value))
          case "End":
            return frames(writer.end())
          case "Error": {
            const { code, type } = openaiStatus(item.error)
            return frames([{ type: "error", code: code ?? type, message: item.error.detail, param: null, sequence_number: 0 }])
          }
        }
      }
      const sent = Stream.make(first).pipe(Stream.concat(rest), Stream.map(toFrames), Stream.flattenIterables)
      return HttpServerResponse.stream(sent, {
        contentType: "text/event-stream",
        headers: { "x-request-id": requestId, "cache-control": "no-cache" }
      })
    }
    const result = yield* Effect.either(SimulatedOpenAI.client(sim.direct, sim.table).chat(body))
    if (Either.isLeft(result)) return fromProviderError(result.left, requestId)
    return HttpServerResponse.unsafeJson(fromCompletion(result.right.data), { headers: { "x-request-id": result.right.requestId ?? requestId } })
  })
