/**
 * A simulated call's stream, run apart from the HTTP response that carries it: its items go through a
 * queue, so the server can look at the first one (an error before the response begins is an error
 * response; anything else, a 200 stream) and send the rest as they come. A client that closes the
 * connection interrupts the call.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type { ProviderError } from "../ProviderError.js"
import { ConnectionError } from "../ProviderError.js"

export type Item<A> = { readonly _tag: "Value"; readonly value: A } | { readonly _tag: "Error"; readonly error: ProviderError } | { readonly _tag: "End" }

/** completes (with a ConnectionError) when the client closes the connection before the response ended */
const clientGone = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.async<never, ConnectionError>((resume) => {
    const response = NodeHttpServerRequest.toServerResponse(request)
    const onClose = () => {
      if (!response.writableEnded) resume(Effect.fail(new ConnectionError({ detail: "the client closed the connection" })))
    }
    response.on("close", onClose)
    return Effect.sync(() => void response.off("close", onClose))
  })

/** the stream forked: its first item, and the rest up to and including the item that ends it */
export const forked = <A>(stream: Stream.Stream<A, ProviderError>) =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Item<A>>()
    const httpRequest = yield* HttpServerRequest.HttpServerRequest
    yield* stream.pipe(
      Stream.runForEach((value) => Queue.offer(queue, { _tag: "Value", value })),
      Effect.raceFirst(clientGone(httpRequest)),
      Effect.matchEffect({
        onFailure: (error) => Queue.offer(queue, { _tag: "Error", error }),
        onSuccess: () => Queue.offer(queue, { _tag: "End" })
      }),
      Effect.forkDaemon
    )
    const first = yield* Queue.take(queue)
    const rest = Stream.fromQueue(queue).pipe(Stream.takeUntil((item) => item._tag !== "Value"))
    return { first, rest, httpRequest }
  })
