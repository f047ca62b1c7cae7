/**
 * The simulator server as the local Anthropic API people test against, through the official SDK (its
 * own client, not this library's): credentials and version as the API requires them, the models list,
 * a forced tool_choice answered with a valid tool call, streams in several deltas, and the context
 * window enforced.
 */
import Anthropic from "@anthropic-ai/sdk"
import { afterAll, beforeAll, describe, expect, it, vi } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"

// the SDK warns about deprecated models on every request; keep the output readable
const warn = vi.spyOn(console, "warn")
beforeAll(() => void warn.mockImplementation(() => {}))
afterAll(() => void warn.mockRestore())

const Server = SimulatorServer.layer().pipe(Layer.provide(SimulatedProvider.layer({ latency: SimulatedProvider.zeroLatency })))

const sdk = Effect.map(SimulatorServer.SimulatorServer, (s) => new Anthropic({ apiKey: "any-key", baseURL: s.url, maxRetries: 0 }))

const weather = {
  name: "record_weather",
  description: "Record a weather report",
  input_schema: {
    type: "object" as const,
    properties: {
      city: { type: "string", minLength: 2 },
      unit: { type: "string", enum: ["celsius", "fahrenheit"] },
      days: { type: "integer", minimum: 1 },
      tags: { type: "array", items: { type: "string" }, minItems: 1 },
      note: { type: "string" }
    },
    required: ["city", "unit", "days", "tags"]
  }
}

describe("serve, through the official SDK", () => {
  it.layer(Server)("as the API", (it) => {
    it.effect("no credentials at all is a 401; no anthropic-version a 400; any key otherwise", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const post = (headers: Record<string, string>) =>
          Effect.promise(() =>
            fetch(`${server.url}/v1/messages`, {
              method: "POST",
              headers: { "content-type": "application/json", ...headers },
              body: JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: 5, messages: [{ role: "user", content: "hi" }] })
            }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { type: string; message: string } } }))
          )
        const none = yield* post({ "anthropic-version": "2023-06-01" })
        expect(none.status).toBe(401)
        expect(none.body.error?.type).toBe("authentication_error")
        const noVersion = yield* post({ "x-api-key": "k" })
        expect(noVersion.status).toBe(400)
        expect(noVersion.body.error?.message).toContain("anthropic-version")
        expect((yield* post({ "x-api-key": "k", "anthropic-version": "2023-06-01" })).status).toBe(200)
        expect((yield* post({ authorization: "Bearer k", "anthropic-version": "2023-06-01" })).status).toBe(200)
      }))

    it.effect("GET /v1/models lists the simulated models; /v1/models/{id} gets one, or a 404", () =>
      Effect.gen(function*() {
        const client = yield* sdk
        const page = yield* Effect.promise(() => client.models.list())
        const ids = page.data.map((m) => m.id)
        expect(ids).toContain("claude-sonnet-4-6")
        expect(ids).toContain("claude-haiku-4-5")
        const one = yield* Effect.promise(() => client.models.retrieve("claude-opus-4-1"))
        expect(one).toMatchObject({ type: "model", id: "claude-opus-4-1" })
        const missing = yield* Effect.promise(() => client.models.retrieve("claude-nope").then(() => 0, (e: { status?: number }) => e.status))
        expect(missing).toBe(404)
      }))

    it.effect("a forced tool_choice is answered with a call of that tool, its input valid, stop_reason tool_use (JSON and stream)", () =>
      Effect.gen(function*() {
        const client = yield* sdk
        const params = {
          model: "claude-sonnet-4-6",
          max_tokens: 200,
          tools: [weather],
          tool_choice: { type: "tool" as const, name: "record_weather" },
          messages: [{ role: "user" as const, content: "Weather in Oslo?" }]
        }
        const json = yield* Effect.promise(() => client.messages.create(params))
        expect(json.stop_reason).toBe("tool_use")
        expect(json.content).toHaveLength(1)
        const call = json.content[0]! as { type: string; name: string; input: Record<string, unknown> }
        expect(call).toMatchObject({ type: "tool_use", name: "record_weather" })
        expect(call.input).toEqual({ city: "xx", unit: "celsius", days: 1, tags: [""] })
        const streamed = yield* Effect.promise(() => client.messages.stream(params).finalMessage())
        expect(streamed.stop_reason).toBe("tool_use")
        expect(streamed.content[0]).toMatchObject({ type: "tool_use", name: "record_weather", input: call.input })
        const any = yield* Effect.promise(() => client.messages.create({ ...params, tool_choice: { type: "any" } }))
        expect(any.content[0]).toMatchObject({ type: "tool_use", name: "record_weather" })
      }))

    it.effect("a stream sends its text in several deltas that add up to the message", () =>
      Effect.gen(function*() {
        const client = yield* sdk
        const deltas: Array<string> = []
        const stream = client.messages.stream({ model: "claude-sonnet-4-6", max_tokens: 60, messages: [{ role: "user", content: "Tell me" }] })
        stream.on("text", (t) => void deltas.push(t))
        const message = yield* Effect.promise(() => stream.finalMessage())
        expect(deltas.length).toBeGreaterThan(1)
        expect(deltas.join("")).toBe((message.content[0] as { text: string }).text)
      }))

    it.effect("a prompt over the model's context window is a 400 invalid_request_error, as in the API", () =>
      Effect.gen(function*() {
        const client = yield* sdk
        const status = yield* Effect.promise(() =>
          client.messages.create({
            model: "claude-sonnet-4-5",
            max_tokens: 10,
            system: "word ".repeat(170_000),
            messages: [{ role: "user", content: "hi" }]
          }).then(() => ({ status: 200, message: "" }), (e: { status?: number; message: string }) => ({ status: e.status, message: e.message }))
        )
        expect(status.status).toBe(400)
        expect(status.message).toContain("prompt is too long")
      }))
  })
})
