/**
 * The program's traces at a real OTLP/HTTP receiver: `run` as a process with the standard
 * `OTEL_EXPORTER_OTLP_*` variables pointed at a small receiver this test starts on 127.0.0.1 (JSON
 * protocol). The spans arrive, named and tagged as the GenAI conventions say, and their cache token
 * attributes add up to the report's figures; no key reaches them; a protocol the program cannot speak
 * is refused in one line.
 */
import Anthropic from "@anthropic-ai/sdk"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"

interface OtlpValue {
  readonly stringValue?: string
  readonly intValue?: string | number
  readonly doubleValue?: number
  readonly boolValue?: boolean
}
interface OtlpSpan {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: OtlpValue }>
}

/** an OTLP/HTTP receiver (JSON): every span posted to /v1/traces, every path posted to */
const receiver = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly spans: Array<OtlpSpan>; readonly paths: Array<string>; readonly headers: Array<string>; readonly close: () => void }>((resume) => {
    const spans: Array<OtlpSpan> = []
    const paths: Array<string> = []
    const headers: Array<string> = []
    const server = createServer((req, res) => {
      let body = ""
      req.on("data", (d) => (body += d))
      req.on("end", () => {
        paths.push(`${req.method} ${req.url} ${req.headers["content-type"]}`)
        headers.push(String(req.headers["x-collector-token"] ?? ""))
        if (req.url === "/v1/traces") {
          const data = JSON.parse(body) as { resourceSpans: ReadonlyArray<{ scopeSpans: ReadonlyArray<{ spans: ReadonlyArray<OtlpSpan> }> }> }
          for (const rs of data.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans)
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, paths, headers, close: () => server.close() })))
  }),
  (r) => Effect.sync(r.close)
)

const program = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.promise(() =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", ...args], {
        env: { ...process.env, REDIS_URL: "", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (d) => (stdout += d))
      child.stderr.on("data", (d) => (stderr += d))
      child.on("close", (code) => done({ code, stdout, stderr }))
    })
  )

const valueOf = (v: OtlpValue): unknown => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.doubleValue ?? v.boolValue)
const attr = (span: OtlpSpan, key: string) => {
  const a = span.attributes.find((x) => x.key === key)
  return a === undefined ? undefined : valueOf(a.value)
}

describe("OpenTelemetry export from the program", () => {
  it.scoped("run with OTEL_EXPORTER_OTLP_ENDPOINT: spans arrive over OTLP/HTTP JSON, and their cache tokens add up to the report's", () =>
    Effect.gen(function*() {
      const otlp = yield* receiver
      const run = yield* program(["run", "--workload", "multi-user-burst", "--json"], {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_HEADERS: "x-collector-token=tok%3Dsecret",
        OTEL_SERVICE_NAME: "epc-test"
      })
      expect(run.code).toBe(0)
      const report = JSON.parse(run.stdout) as {
        calls: Record<"warm" | "request", { count: number; cacheReadInputTokens: number; cacheCreationInputTokens: number; outputTokens: number }>
      }
      expect(otlp.paths.some((p) => p.startsWith("POST /v1/traces application/json"))).toBe(true)
      expect(otlp.headers.every((h) => h === "tok=secret")).toBe(true)
      const chats = otlp.spans.filter((s) => s.name.startsWith("chat "))
      const calls = report.calls.warm.count + report.calls.request.count
      expect(chats).toHaveLength(calls)
      const sum = (key: string) => chats.reduce((n, s) => n + Number(attr(s, key) ?? 0), 0)
      expect(sum("gen_ai.usage.cache_read.input_tokens")).toBe(report.calls.warm.cacheReadInputTokens + report.calls.request.cacheReadInputTokens)
      expect(sum("gen_ai.usage.cache_creation.input_tokens")).toBe(
        report.calls.warm.cacheCreationInputTokens + report.calls.request.cacheCreationInputTokens
      )
      expect(sum("gen_ai.usage.output_tokens")).toBe(report.calls.warm.outputTokens + report.calls.request.outputTokens)
      for (const chat of chats) {
        expect(attr(chat, "gen_ai.operation.name")).toBe("chat")
        expect(attr(chat, "gen_ai.provider.name")).toBe("simulated")
      }
      // the tree: each call under its request, each request under its turn, one trace per turn
      const byId = new Map(otlp.spans.map((s) => [s.spanId, s]))
      for (const chat of chats) {
        const request = byId.get(chat.parentSpanId ?? "")
        expect(request?.name).toBe("prompt_cache.request")
        expect(byId.get(request?.parentSpanId ?? "")?.name).toBe("prompt_cache.turn")
      }
      const gates = otlp.spans.filter((s) => s.name === "prompt_cache.request").map((s) => attr(s, "prompt_cache.gate"))
      expect(gates).toContain("led")
      expect(gates).toContain("waited")
    }))

  it.effect("a protocol it cannot speak is refused in one line, before anything runs", () =>
    Effect.gen(function*() {
      const run = yield* program(["run", "--workload", "single-chat", "--json"], {
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9",
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc"
      })
      expect(run.code).toBe(1)
      expect(run.stdout).toBe("")
      expect(run.stderr.trim().split("\n")).toHaveLength(1)
      expect(run.stderr).toContain("OTEL_EXPORTER_OTLP_PROTOCOL")
      expect(run.stderr).toContain("grpc")
    }))

  const Serve = SimulatorServer.layer().pipe(
    Layer.provideMerge(SimulatedProvider.layer({ latency: { ...SimulatedProvider.zeroLatency, baseMs: 200, outputMsPerToken: 1 } }))
  )

  layer(Serve, { excludeTestServices: true })("the proxy", (it) => {
    it.scoped("a span per proxied request, the gate's and the call's under it; no key in any span", () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const server = yield* SimulatorServer.SimulatorServer
        const KEY = "sk-ant-otel-proxy-0123456789-secret"
        const proxy = yield* Effect.acquireRelease(
          Effect.async<{ readonly url: string; readonly stop: () => Promise<void> }>((resume) => {
            const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", "proxy", "--port", "0", "--anthropic-upstream", server.url], {
              env: { ...process.env, REDIS_URL: "", PROXY_TENANT_SECRET: "s", OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" },
              stdio: ["ignore", "pipe", "pipe"]
            })
            const closed = new Promise<void>((done) => child.on("close", () => done()))
            let out = ""
            child.stdout.on("data", (d) => {
              out += d
              const url = /ANTHROPIC_BASE_URL=(\S+)/.exec(out)?.[1]
              if (url !== undefined) resume(Effect.succeed({ url, stop: () => (child.kill("SIGTERM"), closed) }))
            })
          }),
          (p) => Effect.promise(p.stop)
        )
        const sdk = new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 })
        const system = [{ type: "text" as const, text: "You answer briefly. ".repeat(800), cache_control: { type: "ephemeral" as const } }]
        yield* Effect.promise(() =>
          Promise.all([1, 2, 3].map((i) => sdk.messages.create({ model: "claude-sonnet-4-6", max_tokens: 8, system, messages: [{ role: "user", content: `q${i}` }] })))
        )
        // the proxy flushes its spans when it stops
        yield* Effect.promise(proxy.stop)
        const proxied = otlp.spans.filter((s) => s.name === "prompt_cache.proxy")
        expect(proxied).toHaveLength(3)
        expect(proxied.map((s) => attr(s, "prompt_cache.gate")).sort()).toEqual(["led", "waited", "waited"])
        for (const span of proxied) {
          expect(attr(span, "http.response.status_code")).toBe(200)
          const request = otlp.spans.find((s) => s.parentSpanId === span.spanId)
          expect(request?.name).toBe("prompt_cache.request")
          expect(otlp.spans.find((s) => s.parentSpanId === request?.spanId)?.name).toBe("chat claude-sonnet-4-6")
        }
        expect(proxied.reduce((n, s) => n + Number(attr(s, "gen_ai.usage.cache_read.input_tokens")), 0)).toBeGreaterThan(0)
        expect(JSON.stringify(otlp.spans)).not.toContain(KEY)
      }))
  })
})
