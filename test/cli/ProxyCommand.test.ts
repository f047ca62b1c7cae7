/**
 * `proxy` as a user runs it: a separate process in front of a local `serve`, the official SDK pointed
 * at the banner's URL, the access log on stderr.
 */
import Anthropic from "@anthropic-ai/sdk"
import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"

const KEY = "sk-ant-proxy-cli-0123456789-secret"
const SECRET = "the-replicas-shared-secret-0123"
const SYSTEM = "You are a terse assistant who answers in one short sentence. ".repeat(300)

const Serve = SimulatorServer.layer().pipe(
  Layer.provideMerge(SimulatedProvider.layer({
    latency: { ...SimulatedProvider.zeroLatency, baseMs: 300, outputMsPerToken: 2 },
    outputTokens: (request) => request.max_tokens
  }))
)

/** the proxy as a process; its URL once its banner says it listens; SIGINT and its output at the end */
const proxyProcess = (upstream: string, env: Record<string, string>, flags: ReadonlyArray<string> = []) =>
  Effect.acquireRelease(
    Effect.async<{
      readonly url: string
      readonly stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; stdout: string; stderr: string }>
    }>((resume) => {
      const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", "proxy", "--port", "0", "--anthropic-upstream", upstream, "--log-format", "json", ...flags], {
        env: { ...process.env, REDIS_URL: "", PROXY_TENANT_SECRET: "", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      const closed = new Promise<{ code: number | null; stdout: string; stderr: string }>((done) =>
        child.on("close", (code) => done({ code, stdout, stderr }))
      )
      const stop = (signal: NodeJS.Signals = "SIGINT") => {
        child.kill(signal)
        return closed
      }
      child.stderr.on("data", (d) => (stderr += d))
      child.stdout.on("data", (d) => {
        stdout += d
        const url = /ANTHROPIC_BASE_URL=(\S+)/.exec(stdout)?.[1]
        if (url !== undefined) resume(Effect.succeed({ url, stop }))
      })
      child.on("close", () => resume(Effect.die(new Error(`the proxy exited: ${stderr}`))))
    }),
    ({ stop }) => Effect.promise(() => stop())
  )

describe("proxy, the command", () => {
  layer(Serve, { excludeTestServices: true })("in front of serve", (it) => {
    it.scoped("one write for a cold burst; one JSON access line per request, with the gate, no key", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const proxy = yield* proxyProcess(server.url, { PROXY_TENANT_SECRET: SECRET })
        const client = new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 })
        const responses = yield* Effect.promise(() =>
          Promise.all(Array.from({ length: 4 }, (_, i) =>
            client.messages.create({
              model: "claude-sonnet-4-6",
              max_tokens: 20,
              system: [{ type: "text", text: SYSTEM, cache_control: { type: "ephemeral" } }],
              messages: [{ role: "user", content: `question ${i}` }]
            })))
        )
        expect(responses.filter((r) => (r.usage.cache_creation_input_tokens ?? 0) > 0)).toHaveLength(1)
        expect(responses.filter((r) => (r.usage.cache_read_input_tokens ?? 0) > 0)).toHaveLength(3)
        const out = yield* Effect.promise(() => proxy.stop())
        const lines = out.stderr.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { gate: string; status: number; costUsd: number })
        expect(lines).toHaveLength(4)
        expect(lines.map((l) => l.gate).sort()).toEqual(["led", "waited", "waited", "waited"])
        expect(lines.every((l) => l.status === 200 && l.costUsd > 0)).toBe(true)
        expect(out.stdout + out.stderr).not.toContain(KEY)
        expect(out.stdout + out.stderr).not.toContain(SECRET)
      }))

    it.scoped("SIGTERM: a stream in flight still arrives whole, then the proxy exits", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const proxy = yield* proxyProcess(server.url, {})
        const client = new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 })
        let exited: Promise<{ code: number | null }> | undefined
        const types = yield* Effect.promise(async () => {
          // 1,500 tokens at 2 ms each: the stream is still being generated when the signal comes
          const stream = await client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 1500, stream: true, messages: [{ role: "user", content: "long" }] })
          const seen: Array<string> = []
          for await (const e of stream) {
            if (e.type === "message_start") exited = proxy.stop("SIGTERM")
            seen.push(e.type)
          }
          return seen
        })
        expect(types.at(-1)).toBe("message_stop")
        expect(types.filter((t) => t === "content_block_delta").length).toBeGreaterThan(10)
        const out = yield* Effect.promise(() => exited!)
        expect(out.code).not.toBeNull()
        // and it accepts nothing new
        const refused = yield* Effect.promise(() => fetch(`${proxy.url}/v1/models`).then(() => false, () => true))
        expect(refused).toBe(true)
      }))

    it.scoped("SIGTERM with a short grace period: a stream that would outlast it is cut, and the proxy exits", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const proxy = yield* proxyProcess(server.url, {}, ["--grace-ms", "100"])
        const client = new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 })
        let exited: Promise<{ code: number | null }> | undefined
        const outcome = yield* Effect.promise(async () => {
          // 20,000 tokens at 2 ms each: far longer than the grace period
          const stream = await client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 20_000, stream: true, messages: [{ role: "user", content: "very long" }] })
          const seen: Array<string> = []
          try {
            for await (const e of stream) {
              if (e.type === "message_start") exited = proxy.stop("SIGTERM")
              seen.push(e.type)
            }
            return { seen, cut: false }
          } catch {
            return { seen, cut: true }
          }
        })
        expect(outcome.seen).toContain("message_start")
        expect(outcome.seen).not.toContain("message_stop")
        expect(outcome.cut).toBe(true)
        yield* Effect.promise(() => exited!)
      }))

    it.scoped("replicas need a shared tenant secret: REDIS_URL without PROXY_TENANT_SECRET is refused in one line", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const out = yield* Effect.promise(() =>
          new Promise<{ code: number | null; stderr: string }>((done) => {
            const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", "proxy", "--port", "0", "--anthropic-upstream", server.url], {
              env: { ...process.env, REDIS_URL: "redis://127.0.0.1:1", PROXY_TENANT_SECRET: "" },
              stdio: ["ignore", "pipe", "pipe"]
            })
            let stderr = ""
            child.stderr.on("data", (d) => (stderr += d))
            child.on("close", (code) => done({ code, stderr }))
          })
        )
        expect(out.code).not.toBe(0)
        expect(out.stderr.trim().split("\n")).toHaveLength(1)
        expect(out.stderr).toContain("PROXY_TENANT_SECRET")
      }))
  })
})
