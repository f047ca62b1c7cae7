/**
 * The proxy's upstream as a `LanguageModel`: each request carries the client's exchange (its method,
 * URL, headers and body bytes, and where to put the answer), and "sending" it forwards those bytes
 * unchanged and answers the client with the upstream's status, headers and body as they arrive — SSE
 * piped chunk by chunk, never buffered. On the way, the usage is read: from the SSE `message_start`
 * (Anthropic: the response has begun, the cache is readable — the waiters go) or the first chunk
 * (OpenAI), from the final usage, or from a JSON body; the warmer's sender turns it into metrics and
 * registry updates, as for any provider.
 *
 * An upstream error status reaches the client unchanged, and fails the call with the typed error (so
 * a leader's waiters are released to go on their own); the proxy retries nothing itself.
 *
 * The upstream is called through undici's dispatcher itself, not through `@effect/platform`'s
 * `HttpClient` (which wraps the same dispatcher): measured, the wrapper cost 0.2–0.45 ms of CPU a
 * request (docs/benchmarks.md, "The proxy's floor").
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeStream from "@effect/platform-node/NodeStream"
import type Undici from "@effect/platform-node/Undici"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { parseRetryAfter } from "../internal/retryAfter.js"
import type { LanguageModelService } from "../LanguageModel.js"
import { usageFromChat } from "../openai/Translation.js"
import type { MessagesRequest } from "../Prompt.js"
import type { ProviderError } from "../ProviderError.js"
import { ConnectionError, fromStatus, toStatus } from "../ProviderError.js"
import type { ApiUsage, Response, Usage } from "../Response.js"
import { emptyUsage, fromApiUsage } from "../Response.js"

/** the key under which a request object carries its exchange (a symbol: spread copies it, JSON never) */
export const EXCHANGE: unique symbol = Symbol.for("effect-prompt-cache/proxy/exchange")

/**
 * One client request as the proxy forwards it.
 */
export interface Exchange {
  readonly wire: "anthropic" | "openai" | "other"
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
  /** the answer to the client, set once the upstream has answered (or failed to) */
  readonly respond: Deferred.Deferred<HttpServerResponse.HttpServerResponse>
  /** fails when the client closes its connection before its answer has ended */
  readonly clientGone: Effect.Effect<never, ConnectionError>
  /** the tenant's share of upstream calls: the call, from sending to the end of its answer, holds it */
  readonly permit: <A, E>(call: Effect.Effect<A, E>) => Effect.Effect<A, E>
  /**
   * a JSON request that leads (others wait for its prefix) is sent streamed and its answer assembled
   * into the JSON message its client asked for, so its waiters go at the first byte (opt-in: the body
   * gains `"stream": true`); Anthropic's wire only
   */
  readonly streamLeader?: boolean | undefined
  /** set when the upstream response began */
  begunAt?: number
}

/** headers that belong to one hop, not to the request or response */
const HOP = new Set([
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "content-encoding",
  "accept-encoding",
  "upgrade",
  "proxy-connection",
  "expect",
  "te",
  "trailer"
])

/** the headers to pass on, hop-by-hop ones left out */
export const passHeaders = (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP.has(k.toLowerCase())) continue
    out[k] = typeof v === "string" ? v : v.join(", ")
  }
  return out
}

const utf8 = new TextDecoder()

/**
 * Reads server-sent events from chunks as they pass: every complete event's name and JSON data.
 */
export const makeSseReader = () => {
  let buffer = ""
  return (chunk: Uint8Array): ReadonlyArray<{ readonly event: string | undefined; readonly data: string }> => {
    buffer += utf8.decode(chunk, { stream: true })
    const out: Array<{ event: string | undefined; data: string }> = []
    let end: number
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "")
      let event: string | undefined
      const data: Array<string> = []
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) event = line.slice(6).trim()
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""))
      }
      if (data.length > 0) out.push({ event, data: data.join("\n") })
    }
    return out
  }
}

/**
 * Assembles Anthropic's streamed events into the message the non-streaming API returns: the
 * `message_start` skeleton, each content block from its start and deltas (text, tool input JSON,
 * thinking and its signature, citations), the `message_delta`'s stop reason and usage.
 */
export const makeMessageAssembler = () => {
  let message: Record<string, unknown> | undefined
  const blocks: Array<Record<string, unknown>> = []
  const partialJson = new Map<number, string>()
  return {
    see: (type: string | undefined, json: Record<string, unknown>): void => {
      switch (type) {
        case "message_start":
          message = { ...(json.message as Record<string, unknown>) }
          break
        case "content_block_start":
          blocks[json.index as number] = { ...(json.content_block as Record<string, unknown>) }
          break
        case "content_block_delta": {
          const index = json.index as number
          const block = blocks[index]
          const delta = json.delta as Record<string, unknown>
          if (block === undefined) break
          if (delta.type === "text_delta") block.text = String(block.text ?? "") + String(delta.text ?? "")
          else if (delta.type === "input_json_delta") partialJson.set(index, (partialJson.get(index) ?? "") + String(delta.partial_json ?? ""))
          else if (delta.type === "thinking_delta") block.thinking = String(block.thinking ?? "") + String(delta.thinking ?? "")
          else if (delta.type === "signature_delta") block.signature = delta.signature
          else if (delta.type === "citations_delta") block.citations = [...((block.citations as Array<unknown>) ?? []), delta.citation]
          break
        }
        case "content_block_stop": {
          const index = json.index as number
          const text = partialJson.get(index)
          if (text !== undefined && blocks[index] !== undefined) blocks[index]!.input = text === "" ? {} : parse(text) ?? {}
          break
        }
        case "message_delta":
          if (message !== undefined) {
            const delta = json.delta as Record<string, unknown>
            message = {
              ...message,
              stop_reason: delta.stop_reason ?? message.stop_reason,
              stop_sequence: delta.stop_sequence ?? message.stop_sequence,
              usage: { ...(message.usage as Record<string, unknown>), ...(json.usage as Record<string, unknown>) }
            }
          }
          break
      }
    },
    /** the message, once its stream has ended */
    message: (): Record<string, unknown> | undefined => (message === undefined ? undefined : { ...message, content: blocks.filter((b) => b !== undefined) })
  }
}

/** a JSON object, or undefined when the text is not one */
export const parse = (text: string): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(text) as unknown
    return typeof v === "object" && v !== null ? v as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** the usage a JSON body reports, in the wire's shape */
const usageOfBody = (wire: Exchange["wire"], body: Record<string, unknown> | undefined): Usage =>
  body === undefined || body.usage === undefined || body.usage === null
    ? emptyUsage
    : wire === "openai"
    ? usageFromChat(body.usage as never)
    : fromApiUsage(body.usage as ApiUsage)

/** an upstream answer's body, read whole */
const readAll = (body: Undici.Dispatcher.ResponseData["body"], detail: string, withId: { readonly requestId?: string }) =>
  Effect.tryPromise({
    try: () => body.arrayBuffer(),
    catch: () => new ConnectionError({ detail, ...withId })
  }).pipe(Effect.map((buffer) => new Uint8Array(buffer)))

/** the body with `"stream": true` (a JSON leader streamed upstream) */
const streamedBody = (body: Uint8Array): Uint8Array => {
  const json = parse(utf8.decode(body))
  return json === undefined ? body : new TextEncoder().encode(JSON.stringify({ ...json, stream: true }))
}

/**
 * A leader's stream read to its end and answered as the JSON message its client asked for: the
 * waiters go at the stream's first event (`message_start`, with the cache usage).
 */
const assembled = (
  ex: Exchange,
  body: Undici.Dispatcher.ResponseData["body"],
  status: number,
  headers: Record<string, string>,
  onBegun: (usage: Usage | undefined) => Effect.Effect<void>,
  withId: { readonly requestId?: string },
  model: string
): Effect.Effect<Response, ProviderError> =>
  Effect.gen(function*() {
    const read = makeSseReader()
    const message = makeMessageAssembler()
    let begun = false
    /** an `error` event in the stream (after the 200): the non-streaming API would have answered with it */
    let streamError: { readonly type?: string; readonly message?: string } | undefined
    yield* NodeStream.fromReadable<ConnectionError>(
      () => body,
      () => new ConnectionError({ detail: "the stream was cut before its end", ...withId })
    ).pipe(
      Stream.interruptWhen(ex.clientGone),
      Stream.runForEach((chunk) =>
        Effect.forEach(read(chunk), (e) => {
          const json = parse(e.data)
          if (json === undefined) return Effect.void
          const type = e.event ?? (json.type as string | undefined)
          if (type === "error") streamError = (json.error as typeof streamError) ?? {}
          message.see(type, json)
          if (type !== "message_start" || begun) return Effect.void
          begun = true
          ex.begunAt = Date.now()
          const usage = (json.message as { usage?: ApiUsage } | undefined)?.usage
          return onBegun(usage === undefined ? undefined : fromApiUsage(usage))
        }, { discard: true })
      )
    )
    const { ["content-type"]: _contentType, ...rest } = headers
    if (streamError !== undefined) {
      // answered as the non-streaming API answers an error: its status and error body
      const error = fromStatus({ status: undefined, type: streamError.type, detail: streamError.message ?? "the upstream stream failed", ...withId })
      const body = new TextEncoder().encode(JSON.stringify({ type: "error", error: streamError }))
      yield* Deferred.succeed(ex.respond, HttpServerResponse.uint8Array(body, { status: toStatus(error).status, headers: rest, contentType: "application/json" }))
      return yield* Effect.fail(error)
    }
    const whole = message.message()
    if (whole === undefined) return yield* Effect.fail(new ConnectionError({ detail: "the stream ended without a message", ...withId }))
    const bytes = new TextEncoder().encode(JSON.stringify(whole))
    yield* Deferred.succeed(ex.respond, HttpServerResponse.uint8Array(bytes, { status, headers: rest, contentType: "application/json" }))
    return { id: String(whole.id ?? ""), model, content: [], stopReason: null, usage: fromApiUsage(whole.usage as ApiUsage), ...withId }
  })

/**
 * The upstream `LanguageModel`, calling through `dispatcher` (an undici `Agent`, or the global one).
 * `provider` names it in reports.
 */
export const make = (dispatcher: Undici.Dispatcher, provider = "proxy"): LanguageModelService => {
  const forward = (
    request: MessagesRequest,
    onBegun: ((usage: Usage | undefined) => Effect.Effect<void>) | undefined
  ): Effect.Effect<Response, ProviderError> =>
    Effect.gen(function*() {
      const ex = (request as unknown as { readonly [EXCHANGE]?: Exchange })[EXCHANGE]
      if (ex === undefined) return yield* Effect.die(new Error("a proxy request without its exchange"))
      const url = new URL(ex.url)
      const bodyless = ex.method === "GET" || ex.method === "HEAD"
      // a JSON leader, opted in: streamed upstream, its answer assembled for its client
      const assembling = ex.streamLeader === true && onBegun !== undefined && ex.wire === "anthropic"
      const sent = assembling ? streamedBody(ex.body) : ex.body
      const response = yield* Effect.tryPromise({
        // interrupted before the answer began (a client gone, a shutdown): the request is aborted
        try: (signal) =>
          dispatcher.request({
            origin: url.origin,
            path: url.pathname + url.search,
            method: ex.method as Undici.Dispatcher.HttpMethod,
            headers: ex.headers,
            body: bodyless ? null : sent,
            signal,
            // a model may think for minutes before its first byte: time is the client's to limit
            headersTimeout: 0,
            bodyTimeout: 0
          }),
        catch: (e) => e
      }).pipe(
        Effect.catchAll((e) =>
          Effect.zipRight(
            Deferred.succeed(ex.respond, HttpServerResponse.unsafeJson(
              { type: "error", error: { type: "api_error", message: "the proxy could not reach the upstream" } },
              { status: 502 }
            )),
            Effect.fail(new ConnectionError({ detail: `upstream unreachable: ${e instanceof Error ? e.name : "unknown"}` }))
          ))
      )
      response.body.on("error", () => {})
      const status = response.statusCode
      const headers = passHeaders(response.headers)
      const requestId = headers["request-id"] ?? headers["x-request-id"]
      const withId = requestId !== undefined ? { requestId } : {}
      const model = request.model
      if (status >= 400) {
        const bytes = yield* Effect.orElseSucceed(readAll(response.body, "", withId), () => new Uint8Array(0))
        yield* Deferred.succeed(ex.respond, HttpServerResponse.uint8Array(bytes, { status, headers }))
        const body = parse(utf8.decode(bytes))
        const error = body?.error as { type?: string; message?: string } | undefined
        return yield* Effect.fail(fromStatus({
          status,
          type: ex.wire === "anthropic" ? error?.type : undefined,
          detail: error?.message ?? `upstream status ${status}`,
          ...withId,
          retryAfterMs: parseRetryAfter(new Headers(headers))
        }))
      }
      if (!(headers["content-type"] ?? "").includes("text/event-stream")) {
        const bytes = yield* readAll(response.body, "the upstream closed the response early", withId)
        const body = parse(utf8.decode(bytes))
        const usage = usageOfBody(ex.wire, body)
        ex.begunAt = Date.now()
        if (onBegun !== undefined) yield* onBegun(usage)
        yield* Deferred.succeed(ex.respond, HttpServerResponse.uint8Array(bytes, { status, headers }))
        return { id: String(body?.id ?? ""), model, content: [], stopReason: null, usage, ...withId }
      }
      if (assembling) return yield* assembled(ex, response.body, status, headers, onBegun, withId, model)
      // a stream: piped to the client as it comes, read on the way
      const read = makeSseReader()
      let usage: Usage | undefined
      let id = ""
      let begun = false
      let ended = false
      const done = yield* Deferred.make<Usage | undefined, ProviderError>()
      const begin = (u: Usage | undefined) =>
        Effect.suspend(() => {
          if (begun) return Effect.void
          begun = true
          ex.begunAt = Date.now()
          return onBegun === undefined ? Effect.void : onBegun(u)
        })
      const see = (event: string | undefined, data: string): Effect.Effect<void> => {
        if (data === "[DONE]") return Effect.void
        const json = parse(data)
        if (json === undefined) return Effect.void
        if (ex.wire === "openai") {
          if (typeof json.id === "string") id = json.id
          if (json.usage !== undefined && json.usage !== null) usage = usageFromChat(json.usage as never)
          return begin(undefined)
        }
        const type = event ?? json.type
        if (type === "message_start") {
          const message = json.message as { id?: string; usage?: ApiUsage } | undefined
          id = message?.id ?? id
          usage = message?.usage === undefined ? undefined : fromApiUsage(message.usage)
          return begin(usage)
        }
        if (type === "message_delta" && usage !== undefined) {
          const delta = json.usage as { output_tokens?: number } | undefined
          if (typeof delta?.output_tokens === "number") usage = { ...usage, output: delta.output_tokens }
        }
        return Effect.void
      }
      const body = NodeStream.fromReadable<ConnectionError>(
        () => response.body,
        () => new ConnectionError({ detail: "the stream was cut before its end", ...withId })
      ).pipe(
        // a client that goes away ends the upstream call too
        Stream.interruptWhen(ex.clientGone),
        Stream.tap((chunk) => Effect.forEach(read(chunk), (e) => see(e.event, e.data), { discard: true })),
        Stream.onEnd(Effect.sync(() => void (ended = true))),
        Stream.ensuring(Effect.suspend(() =>
          ended
            ? Deferred.succeed(done, usage)
            : Deferred.fail(done, new ConnectionError({ detail: "the stream was cut before its end", ...withId }))
        ))
      )
      yield* Deferred.succeed(ex.respond, HttpServerResponse.stream(body, { status, headers }))
      const final = yield* Deferred.await(done)
      return { id, model, content: [], stopReason: null, usage: final ?? emptyUsage, ...withId }
    })

  const held = (request: MessagesRequest, call: Effect.Effect<Response, ProviderError>) => {
    const ex = (request as unknown as { readonly [EXCHANGE]?: Exchange })[EXCHANGE]
    return ex === undefined ? call : ex.permit(call)
  }

  return {
    provider,
    create: (request) => held(request, forward(request, undefined)),
    stream: () => Stream.die(new Error("the proxy sends through create and streamResponse")),
    streamResponse: (request, onBegun) => held(request, forward(request, onBegun))
  }
}
