/**
 * The simulator server's routes, over real HTTP with node's fetch: every answer that is not a
 * message is the API's error shape with the API's status.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { request as httpRequest } from "node:http"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"
import { MODEL } from "../fixtures.js"

const KEY = "sk-ant-routes-test"

const Server = SimulatorServer.layer({ apiKey: KEY }).pipe(Layer.provide(SimulatedProvider.layer({ latency: SimulatedProvider.zeroLatency })))

const call = (
  path: string,
  init: { method?: string; key?: string; body?: string | Uint8Array | ReadableStream<Uint8Array>; contentType?: string } = {}
) =>
  Effect.flatMap(SimulatorServer.SimulatorServer, (server) =>
    Effect.promise(async () => {
      const response = await fetch(`${server.url}${path}`, {
        method: init.method ?? "POST",
        headers: { "content-type": init.contentType ?? "application/json", "anthropic-version": "2023-06-01", "x-api-key": init.key ?? KEY },
        ...(init.body !== undefined ? { body: init.body, duplex: "half" } : {})
      } as RequestInit)
      const text = await response.text()
      return { status: response.status, requestId: response.headers.get("request-id"), body: JSON.parse(text) as unknown, length: text.length }
    }))

const message = JSON.stringify({ model: MODEL, max_tokens: 5, messages: [{ role: "user", content: "hi" }] })

describe("SimulatorServer", () => {
  it.layer(Server)("routes", (it) => {
    it.effect("POST /v1/messages answers a message; count_tokens a count", () =>
      Effect.gen(function*() {
        const created = yield* call("/v1/messages", { body: message })
        expect(created.status).toBe(200)
        expect(created.body).toMatchObject({ type: "message", role: "assistant", model: MODEL })
        expect(created.requestId).toMatch(/^req_/)
        const counted = yield* call("/v1/messages/count_tokens", { body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }] }) })
        expect(counted.status).toBe(200)
        expect(counted.body).toEqual({ input_tokens: expect.any(Number) })
      }))

    it.effect("an unknown path or method is the API's 404, even with a wrong key", () =>
      Effect.gen(function*() {
        for (const [method, path] of [["GET", "/v1/messages"], ["POST", "/v1/models"], ["POST", "/v1/messages/batches"]] as const) {
          const r = yield* call(path, { method, key: "wrong", ...(method === "POST" ? { body: message } : {}) })
          expect(r.status).toBe(404)
          expect(r.body).toMatchObject({ type: "error", error: { type: "not_found_error", message: `${method} ${path}` } })
        }
      }))

    it.effect("a wrong key is a 401 before the body is looked at; a body that is not JSON a 400", () =>
      Effect.gen(function*() {
        const wrong = yield* call("/v1/messages", { key: "wrong", body: "not json" })
        expect(wrong.status).toBe(401)
        expect(wrong.body).toMatchObject({ type: "error", error: { type: "authentication_error" } })
        const garbled = yield* call("/v1/messages", { body: "not json" })
        expect(garbled.status).toBe(400)
        expect(garbled.body).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: "the body is not valid JSON" } })
        const invalid = yield* call("/v1/messages", { body: JSON.stringify({ model: MODEL, messages: [] }) })
        expect(invalid.status).toBe(400)
        expect(invalid.body).toMatchObject({ type: "error", error: { type: "invalid_request_error" } })
      }))
  })

  const Small = SimulatorServer.layer({ apiKey: KEY, maxBodyBytes: 10_000, receivedLimit: 3 }).pipe(
    Layer.provideMerge(SimulatedProvider.layer({ latency: SimulatedProvider.zeroLatency, callLogLimit: 2 }))
  )

  it.layer(Small)("a long-running server", (it) => {
    it.effect("a body over the limit is a 413 request_too_large, declared or streamed", () =>
      Effect.gen(function*() {
        const declared = yield* call("/v1/messages", { body: JSON.stringify({ model: MODEL, pad: "x".repeat(20_000) }) })
        expect(declared.status).toBe(413)
        expect(declared.body).toMatchObject({ type: "error", error: { type: "request_too_large" } })
        // no content-length (chunked): the server reads up to the limit, answers, and stops reading
        const server = yield* SimulatorServer.SimulatorServer
        const status = yield* Effect.async<number | undefined>((resume) => {
          const req = httpRequest(`${server.url}/v1/messages`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-api-key": KEY, "transfer-encoding": "chunked" }
          }, (res) => {
            res.resume()
            resume(Effect.succeed(res.statusCode))
          })
          req.on("error", () => {}) // the server may close the connection while this side still writes
          const chunk = "x".repeat(4_000)
          const write = (n: number): void => {
            if (n === 0) return void req.end()
            req.write(chunk, () => write(n - 1))
          }
          write(5)
        })
        expect(status).toBe(413)
      }))

    const malformed: ReadonlyArray<readonly [string, { body?: string | Uint8Array; contentType?: string }, string]> = [
      ["an empty body", { body: "" }, "the body is empty"],
      ["[]", { body: "[]" }, "the body must be a JSON object"],
      ["null", { body: "null" }, "the body must be a JSON object"],
      ["100,000-deep nesting", { body: "[".repeat(5_000) + "]".repeat(5_000) }, "nested 5000 levels deep"],
      ["invalid UTF-8", { body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) }, "not valid UTF-8"],
      ["text/plain", { body: message, contentType: "text/plain" }, "content-type must be application/json"],
      ["a request the schema refuses", { body: JSON.stringify({ model: 5, messages: "no", max_tokens: "x", tools: 1, system: 2 }) }, ""]
    ]
    for (const [name, init, says] of malformed) {
      it.effect(`${name}: a short 400 in the API's shape`, () =>
        Effect.gen(function*() {
          const r = yield* call("/v1/messages", init)
          expect(r.status).toBe(400)
          expect(r.body).toMatchObject({ type: "error", error: { type: "invalid_request_error" } })
          expect((r.body as { error: { message: string } }).error.message).toContain(says)
          expect(r.length).toBeLessThan(600)
        }))
    }

    it.effect("the logs are bounded and hold no key", () =>
      Effect.gen(function*() {
        for (let i = 0; i < 5; i++) yield* call("/v1/messages", { body: message })
        const server = yield* SimulatorServer.SimulatorServer
        const received = yield* server.received
        expect(received).toHaveLength(3)
        expect(JSON.stringify(received)).not.toContain(KEY)
        expect(received[2]!.apiKeySha256).toBe(SimulatorServer.keyDigest(KEY))
        const calls = yield* Effect.flatMap(SimulatedProvider.Simulator, (s) => s.calls)
        expect(calls).toHaveLength(2)
      }))
  })
})
