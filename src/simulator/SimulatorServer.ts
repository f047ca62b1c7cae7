/**
 * The simulator as a local Anthropic- and OpenAI-compatible HTTP server: `POST /v1/messages` (JSON and
 * SSE, the API's event sequence), `POST /v1/messages/count_tokens`, `POST /v1/chat/completions` (JSON
 * and SSE, OpenAI's chunks: `ChatRoute`), `POST /v1/responses` (OpenAI's Responses API over the same
 * answers: `ResponsesRoute`), `GET /v1/models`, each API's error bodies and headers
 * (`request-id` / `x-request-id`, `retry-after`, `retry-after-ms`), and the simulator's fault injection.
 *
 * Point any app, in any language, with any SDK at it through `ANTHROPIC_BASE_URL` (or `OPENAI_BASE_URL`
 * with `/v1`) to see its caching
 * behaviour offline, with no key and no cost. A scripted mode plays exact sequences of errors for
 * tests, and every request received is logged.
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { createHash } from "node:crypto"
import { createServer } from "node:http"
import { formatParseError } from "../internal/format.js"
import { readBounded } from "../internal/body.js"
import { nestingDepth } from "../internal/json.js"
import type { LanguageModelService } from "../LanguageModel.js"
import { LanguageModel } from "../LanguageModel.js"
import { decodeRequest } from "../Prompt.js"
import * as ChatRoute from "./ChatRoute.js"
import * as ResponsesRoute from "./ResponsesRoute.js"
import * as PlatformRoutes from "./PlatformRoutes.js"
import type { ScriptStep } from "./Script.js"
import { answer, errorResponse } from "./MessagesWire.js"
import { Simulator } from "./SimulatedProvider.js"

export type {
  /** @since 0.1.0 */
  ScriptStep
} from "./Script.js"

/**
 * A request as the server received it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReceivedRequest {
  readonly path: string
  /** wall-clock arrival, ms */
  readonly receivedAt: number
  /** the SHA-256 of the `x-api-key` it carried (hex), never the key itself: see {@link keyDigest} */
  readonly apiKeySha256: string | undefined
  readonly anthropicVersion: string | undefined
  readonly body: unknown
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ServerOptions {
  /** 0 (default) picks a free port */
  readonly port?: number | undefined
  /** default 127.0.0.1 */
  readonly host?: string | undefined
  /** when set, requests must carry it as `x-api-key` (else 401) */
  readonly apiKey?: string | undefined
  /** requests kept in the `received` log, the oldest dropped first (default 1,000; 0 keeps none) */
  readonly receivedLimit?: number | undefined
  /** the largest request body accepted, in bytes; larger ones are answered 413 (default 32 MB, the API's) */
  readonly maxBodyBytes?: number | undefined
  readonly script?: ReadonlyArray<ScriptStep> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SimulatorServerService {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  readonly port: number
  readonly received: Effect.Effect<ReadonlyArray<ReceivedRequest>>
  readonly script: (steps: ReadonlyArray<ScriptStep>) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class SimulatorServer extends Context.Tag("effect-prompt-cache/SimulatorServer")<
  SimulatorServer,
  SimulatorServerService
>() {}


/** the model object for a simulated model, with the fields of both APIs (Anthropic's and OpenAI's) */
const modelInfo = (id: string) => ({
  type: "model",
  object: "model",
  id,
  display_name: id.replace(/^claude-/, "Claude ").replace(/-/g, " "),
  created_at: "2026-01-01T00:00:00Z",
  created: 1_767_225_600,
  owned_by: id.startsWith("claude") ? "anthropic" : "openai"
})

/** `GET /v1/models`, one page with every simulated model (a list to both SDKs) */
const modelList = (ids: ReadonlyArray<string>) => ({
  object: "list",
  data: ids.map(modelInfo),
  has_more: false,
  first_id: ids[0] ?? null,
  last_id: ids[ids.length - 1] ?? null
})

/**
 * How the `received` log shows a key: its SHA-256 (hex), so a test can check which key was sent while
 * the server keeps no key in memory.
 *
 * @since 0.1.0
 * @category utils
 */
export const keyDigest = (key: string): string => createHash("sha256").update(key).digest("hex")

/** what the server knows of the request being handled: its id, its key, its body as JSON (or why not) */
class Incoming extends Context.Tag("effect-prompt-cache/SimulatorServer/Incoming")<Incoming, {
  readonly requestId: string
  readonly apiKey: string | undefined
  readonly json: Either.Either<unknown, string>
}>() {}

/** deepest JSON nesting of a request body (real requests nest about 10 levels) */
const MAX_NESTING = 256
/** the longest schema message sent back: the first problems, not a dump of the schema */
const MAX_MESSAGE = 400

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * A request body as JSON, or what is wrong with it in a few words: not JSON by its content type, not
 * UTF-8, empty, nested too deep (measured before parsing), not JSON, or not a JSON object.
 */
const parseBody = (bytes: Uint8Array, contentType: string | undefined): Either.Either<unknown, string> => {
  if (contentType !== undefined && !/^application\/json\b/i.test(contentType.trim())) {
    return Either.left(`content-type must be application/json, got ${contentType.slice(0, 60)}`)
  }
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return Either.left("the body is not valid UTF-8")
  }
  if (text.trim() === "") return Either.left("the body is empty: a JSON object is required")
  const depth = nestingDepth(text)
  if (depth > MAX_NESTING) return Either.left(`the body is nested ${depth} levels deep; the limit is ${MAX_NESTING}`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Either.left("the body is not valid JSON")
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return Either.left("the body must be a JSON object")
  }
  return Either.right(json)
}

/** the request body, read up to `limit` bytes (the rest drained unread) */
const readBody = (request: HttpServerRequest.HttpServerRequest, limit: number) =>
  readBounded(NodeHttpServerRequest.toIncomingMessage(request), limit)

const shortened = (message: string) => (message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message)

/**
 * Serves the simulator. Needs the simulator's layer ({@link LanguageModel} and {@link Simulator}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ServerOptions = {}) =>
  Effect.gen(function*() {
    const lm = yield* LanguageModel
    const sim = yield* Simulator
    const script: Array<ScriptStep> = [...(options.script ?? [])]
    const received: Array<ReceivedRequest> = []
    let counter = 0

    /** every request is logged, then checked for its key, then parsed as JSON, before any route runs */
    const receivedLimit = options.receivedLimit ?? 1_000
    const record = (request: HttpServerRequest.HttpServerRequest, json: Either.Either<unknown, string>) => {
      if (receivedLimit <= 0) return
      const key = request.headers["x-api-key"] ?? /^Bearer\s+(.+)$/i.exec(request.headers["authorization"] ?? "")?.[1]
      received.push({
        path: new URL(request.url, "http://localhost").pathname,
        receivedAt: Date.now(),
        apiKeySha256: key === undefined ? undefined : keyDigest(key),
        anthropicVersion: request.headers["anthropic-version"],
        body: Either.getOrUndefined(json)
      })
      if (received.length > receivedLimit) received.splice(0, received.length - receivedLimit)
    }

    /** the body of a route's request, decoded as a Messages request, or the API's 400 */
    const decodedBody = (counting: boolean) =>
      Effect.gen(function*() {
        const { json, requestId } = yield* Incoming
        if (Either.isLeft(json)) {
          return Either.left(errorResponse({ status: 400, type: "invalid_request_error", message: json.left, requestId }))
        }
        // count_tokens takes a Messages body without max_tokens
        const decoded = yield* Effect.either(decodeRequest(counting ? { max_tokens: 1, ...(json.right as object) } : json.right))
        return Either.mapLeft(decoded, (e) =>
          errorResponse({ status: 400, type: "invalid_request_error", message: shortened(formatParseError(e)), requestId }))
      })

    const countTokens = Effect.gen(function*() {
      const { requestId } = yield* Incoming
      const decoded = yield* decodedBody(true)
      if (Either.isLeft(decoded)) return decoded.left
      return HttpServerResponse.unsafeJson({ input_tokens: sim.countTokens(decoded.right) }, {
        headers: { "request-id": requestId }
      })
    })

    /** `POST …/v1/messages` on the simulator in `model` (Anthropic's: the default cache) */
    const messagesOn = (model: LanguageModelService) =>
      Effect.gen(function*() {
        const { requestId } = yield* Incoming
        const decoded = yield* decodedBody(false)
        if (Either.isLeft(decoded)) return decoded.left
        return yield* answer(model, decoded.right, requestId, script.shift())
      })
    const messages = messagesOn(lm)

    /** routes that need the key, when the server was given one */
    /**
     * As the API: no credentials at all (neither `x-api-key` nor `Authorization: Bearer`) is a 401; with
     * `apiKey` set, any other key is too; a missing `anthropic-version` is a 400.
     */
    const authenticated = <E, R>(route: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
      Effect.flatMap(Effect.all([Incoming, HttpServerRequest.HttpServerRequest]), ([{ apiKey, requestId }, request]) => {
        const bearer = /^Bearer\s+(.+)$/i.exec(request.headers["authorization"] ?? "")?.[1]
        const key = apiKey ?? bearer
        const refuse = (status: number, type: string, message: string) =>
          Effect.succeed(errorResponse({ status, type, message, requestId }))
        if (key === undefined) return refuse(401, "authentication_error", "x-api-key header is required")
        if (options.apiKey !== undefined && key !== options.apiKey) return refuse(401, "authentication_error", "invalid x-api-key")
        // OpenAI's clients (a Bearer key, no x-api-key) list models without an anthropic-version
        const openaiClient = apiKey === undefined && bearer !== undefined
        if (request.headers["anthropic-version"] === undefined && !(openaiClient && request.method === "GET")) {
          return refuse(400, "invalid_request_error", "anthropic-version: header is required")
        }
        return route
      })

    /** OpenAI's rule: `Authorization: Bearer <key>` (else 401, in OpenAI's shape); then the route */
    const openai = (route: typeof ChatRoute.handle) => Effect.gen(function*() {
      const { json, requestId } = yield* Incoming
      const request = yield* HttpServerRequest.HttpServerRequest
      const key = /^Bearer\s+(.+)$/i.exec(request.headers["authorization"] ?? "")?.[1]
      if (key === undefined || (options.apiKey !== undefined && key !== options.apiKey)) {
        return ChatRoute.errorResponse({
          status: 401,
          type: "invalid_request_error",
          code: "invalid_api_key",
          message: key === undefined ? "You didn't provide an API key: send Authorization: Bearer <key>" : "Incorrect API key provided",
          requestId
        })
      }
      return yield* route(sim, json, requestId, script.shift())
    })

    const bedrock = (streamed: boolean) =>
      Effect.gen(function*() {
        const { json, requestId } = yield* Incoming
        const { model } = yield* HttpRouter.params
        return yield* PlatformRoutes.bedrockInvoke(sim, json, requestId, script.shift(), model ?? "", streamed)
      })
    const mantle = (counting: boolean) =>
      Effect.flatMap(Incoming, ({ json, requestId }) => PlatformRoutes.mantle(sim, json, requestId, counting ? undefined : script.shift(), counting))
    const vertex = Effect.gen(function*() {
      const { json, requestId } = yield* Incoming
      const params = yield* HttpRouter.params
      return yield* PlatformRoutes.vertex(sim, json, requestId, script.shift(), {
        project: params.project ?? "",
        location: params.location ?? "",
        tail: params["*"] ?? ""
      })
    })

    const listModels = Effect.succeed(HttpServerResponse.unsafeJson(modelList(sim.models)))
    const getModel = Effect.gen(function*() {
      const { id } = yield* HttpRouter.params
      const { requestId } = yield* Incoming
      const found = sim.models.find((m) => m === id)
      return found === undefined
        ? errorResponse({ status: 404, type: "not_found_error", message: `model: ${id ?? ""}`, requestId })
        : HttpServerResponse.unsafeJson(modelInfo(found))
    })

    const router = HttpRouter.empty.pipe(
      HttpRouter.post("/v1/messages", authenticated(messages)),
      HttpRouter.post("/v1/messages/count_tokens", authenticated(countTokens)),
      HttpRouter.post("/v1/chat/completions", openai(ChatRoute.handle)),
      HttpRouter.post("/v1/responses", openai(ResponsesRoute.handle)),
      // Claude on the cloud platforms (PlatformRoutes)
      HttpRouter.post("/model/:model/invoke", bedrock(false)),
      HttpRouter.post("/model/:model/invoke-with-response-stream", bedrock(true)),
      HttpRouter.post("/anthropic/v1/messages", mantle(false)),
      HttpRouter.post("/anthropic/v1/messages/count_tokens", mantle(true)),
      HttpRouter.post("/v1/projects/:project/locations/:location/publishers/anthropic/models/*", vertex),
      HttpRouter.get("/v1/models", authenticated(listModels)),
      HttpRouter.get("/v1/models/:id", authenticated(getModel))
    )

    const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024
    const tooLarge = (requestId: string) =>
      errorResponse({
        status: 413,
        type: "request_too_large",
        message: `the request body exceeds the maximum of ${maxBodyBytes} bytes`,
        requestId,
        close: true
      })

    const app = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const requestId = `req_srv_${(++counter).toString().padStart(6, "0")}`
      // a declared length over the limit is refused before a byte of the body is read; an undeclared
      // one is read up to the limit
      const declared = Number(request.headers["content-length"] ?? "0")
      if (declared > maxBodyBytes) {
        record(request, Either.left("too large"))
        return tooLarge(requestId)
      }
      const bytes = yield* Effect.either(readBody(request, maxBodyBytes))
      if (Either.isLeft(bytes)) {
        record(request, Either.left(bytes.left))
        return bytes.left === "too_large" ? tooLarge(requestId) : HttpServerResponse.empty({ status: 400 })
      }
      const json = parseBody(bytes.right, request.headers["content-type"])
      record(request, json)
      return yield* router.pipe(
        Effect.catchTag("RouteNotFound", () =>
          Effect.succeed(errorResponse({
            status: 404,
            type: "not_found_error",
            message: `${request.method} ${new URL(request.url, "http://localhost").pathname}`,
            requestId
          }))),
        Effect.provideService(Incoming, { requestId, json, apiKey: request.headers["x-api-key"] })
      )
    })

    const server = yield* NodeHttpServer.make(() => createServer(), {
      port: options.port ?? 0,
      host: options.host ?? "127.0.0.1"
    })
    // the platform runs handlers uninterruptibly; let a client that goes away interrupt the call
    yield* HttpServer.serveEffect(Effect.interruptible(app)).pipe(Effect.provideService(HttpServer.HttpServer, server))
    const address = server.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    const service: SimulatorServerService = {
      url: `http://${options.host ?? "127.0.0.1"}:${port}`,
      port,
      received: Effect.sync(() => received.slice()),
      script: (steps) => Effect.sync(() => void script.push(...steps))
    }
    return service
  })

/**
 * The server as a scoped layer: it listens while the layer lives.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ServerOptions = {}): Layer.Layer<SimulatorServer, never, LanguageModel | Simulator> =>
  Layer.scoped(SimulatorServer, Effect.orDie(make(options)))
