/**
 * The simulator as an {@link OpenAIClientService}: a Chat Completions body is read back into the
 * library's request model (`Translation.fromChatRequest`), answered by the simulator under OpenAI's
 * cache rules, and written out as a completion or as chunks. The HTTP server's
 * `/v1/chat/completions` and the in-process OpenAI provider both run through it, so the two give the
 * same usage call by call.
 *
 * @since 0.2.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { LanguageModelService } from "../LanguageModel.js"
import type { ChatChunk, ChatRequest } from "../openai/ChatWire.js"
import type { OpenAIClientService } from "../openai/OpenAIClient.js"
import { eventToChunks, fromChatRequest, responseToCompletion } from "../openai/Translation.js"
import type { PriceTable } from "../Pricing.js"
import { cachingOf } from "../Pricing.js"
import type { MessagesRequest } from "../Prompt.js"
import type { ProviderError } from "../ProviderError.js"

const seconds = (ms: number) => Math.floor(ms / 1000)

/** a Chat body (as the provider or a client sent it) as a simulator request */
const toRequest = (body: Record<string, unknown>): Effect.Effect<MessagesRequest, ProviderError> =>
  Either.match(fromChatRequest(body as ChatRequest), { onLeft: Effect.fail, onRight: Effect.succeed })

/**
 * The chunks of a streamed call, as a stream (`include_usage` decides the last one).
 *
 * @since 0.2.0
 * @category streams
 */
export const chunks = (
  lm: LanguageModelService,
  models: PriceTable,
  body: Record<string, unknown>,
  includeUsage: boolean
): Stream.Stream<ChatChunk, ProviderError> =>
  Stream.unwrap(Effect.map(Effect.zip(toRequest(body), Effect.clockWith((c) => c.currentTimeMillis)), ([request, now]) => {
    let id = ""
    const meta = (model: string) => ({ id, model, created: seconds(now), caching: cachingOf(models, request.model), includeUsage })
    return lm.stream({ ...request, stream: true }).pipe(
      Stream.mapConcat((event) => {
        if (event._tag === "Begun") id = event.id
        return eventToChunks(event, meta(request.model))
      })
    )
  }))

/**
 * @since 0.2.0
 * @category constructors
 */
export const client = (lm: LanguageModelService, models: PriceTable, name = "simulated"): OpenAIClientService => ({
  name,
  // simulated time can pass a long while between chunks (a long generation under a virtual clock)
  streamIdleTimeoutMs: 86_400_000,
  chat: (body) =>
    Effect.gen(function*() {
      const request = yield* toRequest(body)
      const response = yield* lm.create(request)
      const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
      return { data: responseToCompletion(response, cachingOf(models, request.model), seconds(now)), requestId: response.requestId }
    }),
  chatStream: (body) =>
    Effect.gen(function*() {
      const pull = yield* Stream.toPull(chunks(lm, models, body, true))
      const buffer: Array<ChatChunk> = []
      let done = false
      const next: Effect.Effect<Option.Option<ChatChunk>, ProviderError> = Effect.suspend(() => {
        const head = buffer.shift()
        if (head !== undefined) return Effect.succeed(Option.some(head))
        if (done) return Effect.succeed(Option.none())
        return pull.pipe(
          Effect.map((chunk) => {
            buffer.push(...Chunk.toReadonlyArray(chunk))
          }),
          Effect.catchAll(Option.match({
            onNone: () => Effect.sync(() => void (done = true)),
            onSome: (e: ProviderError) => Effect.fail(e)
          })),
          Effect.zipRight(Effect.suspend(() => next))
        )
      })
      return { next, requestId: undefined }
    })
})
