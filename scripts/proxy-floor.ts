/**
 * The proxy's floor (docs/benchmarks.md, "the proxy's floor"): what forwarding alone costs, before any
 * of the proxy's own work. Three forwarders, each its own process, in front of the same zero-latency
 * `serve` (in this process), each measured the same way — sequential requests alternating between
 * `serve` and the forwarder (so whatever else the machine does meets both alike), and the forwarder's
 * CPU time per request (user + system, from /proc):
 *
 * - `node`: node:http's server and undici's `request`, nothing else;
 * - `platform`: @effect/platform's `HttpServer` and its undici `HttpClient`, nothing else;
 * - `platform-undici`: @effect/platform's `HttpServer` and undici's `request`, nothing else;
 * - `proxy`: `effect-prompt-cache proxy` as built (`npm run build` first).
 *
 *   npx tsx scripts/proxy-floor.ts [requests per forwarder, default 3000]
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import Undici from "@effect/platform-node/Undici"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import * as SimulatedProvider from "../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../src/simulator/SimulatorServer.js"

const headers = { "content-type": "application/json", "x-api-key": "floor-key", "anthropic-version": "2023-06-01" }
const body = JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: 16, messages: [{ role: "user", content: "hi" }] })

/** node:http + undici, nothing else */
const nodeForwarder = (upstream: string) => {
  const server = createServer(async (req, res) => {
    const chunks: Array<Buffer> = []
    for await (const c of req) chunks.push(c as Buffer)
    const r = await Undici.request(`${upstream}${req.url}`, { method: "POST", headers, body: Buffer.concat(chunks) })
    const bytes = Buffer.from(await r.body.arrayBuffer())
    res.writeHead(r.statusCode, { "content-type": "application/json" }).end(bytes)
  })
  server.listen(0, "127.0.0.1", () => console.log(`listening http://127.0.0.1:${(server.address() as { port: number }).port}`))
}

/** @effect/platform's server and undici client (or undici's own `request`), nothing else */
const platformForwarder = (upstream: string, client: "HttpClient" | "undici") => {
  const viaUndici = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const bytes = new Uint8Array(yield* request.arrayBuffer)
    const response = yield* Effect.promise((signal) => Undici.request(`${upstream}${request.url}`, { method: "POST", headers, body: bytes, signal }))
    const answer = new Uint8Array(yield* Effect.promise(() => response.body.arrayBuffer()))
    return HttpServerResponse.uint8Array(answer, { status: response.statusCode })
  }).pipe(Effect.orDie)
  const viaHttpClient = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const client = yield* HttpClient.HttpClient
    const bytes = new Uint8Array(yield* request.arrayBuffer)
    const response = yield* client.execute(
      HttpClientRequest.post(`${upstream}${request.url}`).pipe(
        HttpClientRequest.setHeaders(headers),
        HttpClientRequest.bodyUint8Array(bytes, "application/json")
      )
    )
    return HttpServerResponse.uint8Array(new Uint8Array(yield* response.arrayBuffer), { status: response.status })
  }).pipe(Effect.orDie)
  const main = Effect.gen(function*() {
    const server = yield* NodeHttpServer.make(createServer, { port: 0, host: "127.0.0.1" })
    yield* HttpServer.serveEffect(client === "undici" ? viaUndici : viaHttpClient).pipe(
      HttpMiddleware.withTracerDisabledWhenEffect(() => true),
      Effect.provideService(HttpServer.HttpServer, server)
    )
    const address = server.address
    console.log(`listening http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`)
    return yield* Effect.never
  })
  NodeRuntime.runMain(main.pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)))
}

/** a child process until it prints its URL */
const start = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<{ readonly pid: number; readonly url: string; readonly stop: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "ignore"]
    })
    let out = ""
    child.stdout!.on("data", (d) => {
      out += d
      const url = /(?:listening |ANTHROPIC_BASE_URL=)(http:\/\/\S+)/.exec(out)?.[1]
      if (url !== undefined) resolve({ pid: child.pid!, url, stop: () => void child.kill("SIGINT") })
    })
    child.on("exit", (code) => reject(new Error(`${args.join(" ")} exited (${code}) before it listened`)))
  })

const cpuMs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}

const post = async (url: string) => {
  const t = performance.now()
  const r = await fetch(`${url}/v1/messages`, { method: "POST", headers, body })
  await r.text()
  if (r.status !== 200) throw new Error(`status ${r.status}`)
  return performance.now() - t
}

const p = (xs: Array<number>, q: number) => xs.sort((a, b) => a - b)[Math.floor(xs.length * q)]!.toFixed(2)

const measure = async () => {
  const n = Number(process.argv[2] ?? 3000)
  const scope = Effect.runSync(Scope.make())
  const ctx = await Effect.runPromise(Layer.buildWithScope(
    SimulatorServer.layer({ receivedLimit: 0 }).pipe(
      Layer.provide(SimulatedProvider.layer({ latency: SimulatedProvider.zeroLatency, callLogLimit: 1_000 }))
    ),
    scope
  ))
  const serve = Context.get(ctx, SimulatorServer.SimulatorServer).url
  const script = process.argv[1]!
  const forwarders = [
    ["node:http + undici", [script, "forward", "node", serve], {}],
    ["@effect/platform server + HttpClient", [script, "forward", "platform", serve], {}],
    ["@effect/platform server + undici", [script, "forward", "platform-undici", serve], {}],
    ["effect-prompt-cache proxy", ["dist/cli/bin.js", "proxy", "--port", "0", "--anthropic-upstream", serve], { PROXY_TENANT_SECRET: "floor", REDIS_URL: "" }]
  ] as const
  console.log(`${n} sequential requests, alternating between serve and the forwarder (after 300 of warm-up)`)
  for (const [name, args, env] of forwarders) {
    const f = await start(args, env)
    for (let i = 0; i < 300; i++) await post(f.url).then(() => post(serve))
    const cpu0 = cpuMs(f.pid)
    const direct: Array<number> = []
    const through: Array<number> = []
    for (let i = 0; i < n; i++) {
      direct.push(await post(serve))
      through.push(await post(f.url))
    }
    const cpu = (cpuMs(f.pid) - cpu0) / n
    f.stop()
    const d50 = Number(p(direct, 0.5))
    const t50 = Number(p(through, 0.5))
    console.log(
      `  ${name.padEnd(38)} CPU ${cpu.toFixed(2)} ms/request · direct p50 ${d50.toFixed(2)} · through p50 ${t50.toFixed(2)} p99 ${p(through, 0.99)} · added p50 ${(t50 - d50).toFixed(2)} ms`
    )
  }
  await Effect.runPromise(Scope.close(scope, Exit.void))
}

if (process.argv[2] === "forward") {
  if (process.argv[3] === "node") nodeForwarder(process.argv[4]!)
  else platformForwarder(process.argv[4]!, process.argv[3] === "platform-undici" ? "undici" : "HttpClient")
} else {
  void measure().then(() => process.exit(0))
}
