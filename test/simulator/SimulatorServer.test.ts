/**
 * The simulator server's routes, over real HTTP with node's fetch: every answer that is not a
 * message is the API's error shape with the API's status.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"
import { MODEL } from "../fixtures.js"

const KEY = "sk-ant-routes-test"

const Server = SimulatorServer.layer({ apiKey: KEY }).pipe(Layer.provide(SimulatedProvider.layer({ latency: SimulatedProvider.zeroLatency })))

const call = (path: string, init: { method?: string; key?: string; body?: string } = {}) =>
  Effect.flatMap(SimulatorServer.SimulatorServer, (server) =>
    Effect.promise(async () => {
      const response = await fetch(`${server.url}${path}`, {
        method: init.method ?? "POST",
        headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": init.key ?? KEY },
        ...(init.body !== undefined ? { body: init.body } : {})
      })
      return { status: response.status, requestId: response.headers.get("request-id"), body: await response.json() as unknown }
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
        expect(garbled.body).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: "body is not JSON" } })
        const invalid = yield* call("/v1/messages", { body: JSON.stringify({ model: MODEL, messages: [] }) })
        expect(invalid.status).toBe(400)
        expect(invalid.body).toMatchObject({ type: "error", error: { type: "invalid_request_error" } })
      }))
  })
})
