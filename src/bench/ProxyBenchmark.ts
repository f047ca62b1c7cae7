/**
 * The proxy's cost: against a zero-latency `serve` on loopback, the latency a request that needs no
 * gate gains by going through the proxy, the proxy's throughput as a ratio of calling `serve`
 * directly, and 1,000 concurrent streaming clients (errors, and the proxy's RSS under that load). The
 * proxy runs as its own process, as it is deployed (`effect-prompt-cache proxy`); `serve` and the
 * clients share this one.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as SimulatedProvider from "../simulator/SimulatedProvider.js"
import * as SimulatorServer from "../simulator/SimulatorServer.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Result {
  readonly requests: number
  /** per-request latency, straight at `serve` and through the proxy, sequential (ms) */
  readonly direct: { readonly p50: number; readonly p99: number }
  readonly proxied: { readonly p50: number; readonly p99: number }
  /** requests per second with `concurrency` clients, straight and through the proxy */
  readonly concurrency: number
  readonly directRps: number
  readonly proxiedRps: number
  readonly ratio: number
  /** concurrent streaming clients through the proxy: how many, how many failed, the proxy's RSS at the peak (MB) */
  readonly streams: number
  readonly streamErrors: number
  readonly peakRssMb: number
}

/** the resident set of a process, in bytes (Linux's /proc; 0 where there is none) */
const rssOf = (pid: number): number => {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
    return kb === undefined ? 0 : Number(kb) * 1024
  } catch {
    return 0
  }
}

/** `effect-prompt-cache proxy` as a child process (this program, as it was started), until the scope closes */
const proxyProcess = (upstream: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly pid: number; readonly url: string; readonly kill: () => void }, Error>((resume) => {
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, "proxy", "--port", "0", "--anthropic-upstream", upstream], {
        env: { ...process.env, REDIS_URL: "", PROXY_TENANT_SECRET: "bench" },
        stdio: ["ignore", "pipe", "ignore"]
      })
      let out = ""
      child.stdout!.on("data", (d) => {
        out += d
        const url = /ANTHROPIC_BASE_URL=(\S+)/.exec(out)?.[1]
        if (url !== undefined) resume(Effect.succeed({ pid: child.pid!, url, kill: () => void child.kill("SIGINT") }))
      })
      child.on("exit", (code) => resume(Effect.fail(new Error(`the proxy exited (${code}) before it listened`))))
    }),
    (p) => Effect.sync(p.kill)
  ).pipe(Effect.orDie)

const percentile = (xs: ReadonlyArray<number>, p: number) => {
  const sorted = xs.slice().sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}

const body = (i: number, stream = false) =>
  JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: 16, stream, messages: [{ role: "user", content: `request ${i}` }] })

const headers = { "content-type": "application/json", "x-api-key": "bench-key", "anthropic-version": "2023-06-01" }

const post = (url: string, i: number, stream = false) =>
  fetch(`${url}/v1/messages`, { method: "POST", headers, body: body(i, stream) }).then(async (r) => {
    const text = await r.text()
    if (r.status !== 200 || (stream && !text.includes("message_stop"))) throw new Error(`status ${r.status}`)
    return text.length
  })

/**
 * `n` requests to each URL, one after another and alternating (a, b, a, b, …), so that whatever else
 * the machine does meets both alike: each one's latency (ms), per URL
 */
const sequential = (a: string, b: string, n: number) =>
  Effect.promise(async () => {
    const out: [Array<number>, Array<number>] = [[], []]
    for (let i = 0; i < n; i++) {
      for (const [k, url] of [a, b].entries()) {
        const t = performance.now()
        await post(url, i)
        out[k]!.push(performance.now() - t)
      }
    }
    return out
  })

/** `n` requests by `c` clients in parallel: requests per second */
const throughput = (url: string, n: number, c: number) =>
  Effect.promise(async () => {
    let next = 0
    const t = performance.now()
    await Promise.all(Array.from({ length: c }, async () => {
      while (next < n) await post(url, next++)
    }))
    return n / ((performance.now() - t) / 1000)
  })

/**
 * Runs the benchmark: `requests` sequential requests each way, alternating (after a warm-up), `requests` more by
 * `concurrency` clients each way, then `streams` concurrent streaming requests through the proxy.
 * None carries a breakpoint: the gate has nothing to do, and what is measured is the proxy itself.
 *
 * @since 0.2.0
 * @category benchmarks
 */
export const run = (options: { readonly requests?: number; readonly concurrency?: number; readonly streams?: number } = {}) =>
  Effect.gen(function*() {
    const requests = options.requests ?? 2_000
    const concurrency = options.concurrency ?? 32
    const streams = options.streams ?? 1_000
    const serve = yield* Layer.build(
      SimulatorServer.layer({ receivedLimit: 0 }).pipe(
        Layer.provide(SimulatedProvider.layer({ latency: SimulatedProvider.zeroLatency, callLogLimit: 1_000 }))
      )
    )
    const upstream = Context.get(serve, SimulatorServer.SimulatorServer).url
    const { pid, url: proxied } = yield* proxyProcess(upstream)
    // warm-up: connections, JIT
    yield* sequential(upstream, proxied, 200)
    const [direct, through] = yield* sequential(upstream, proxied, requests)
    const directRps = yield* throughput(upstream, requests, concurrency)
    const proxiedRps = yield* throughput(proxied, requests, concurrency)
    let peak = rssOf(pid)
    const sampler = setInterval(() => void (peak = Math.max(peak, rssOf(pid))), 20)
    const results = yield* Effect.promise(() =>
      Promise.allSettled(Array.from({ length: streams }, (_, i) => post(proxied, i, true)))
    ).pipe(Effect.ensuring(Effect.sync(() => clearInterval(sampler))))
    const result: Result = {
      requests,
      direct: { p50: percentile(direct, 0.5), p99: percentile(direct, 0.99) },
      proxied: { p50: percentile(through, 0.5), p99: percentile(through, 0.99) },
      concurrency,
      directRps,
      proxiedRps,
      ratio: proxiedRps / directRps,
      streams,
      streamErrors: results.filter((r) => r.status === "rejected").length,
      peakRssMb: Math.round(peak / 1024 / 1024)
    }
    return result
  }).pipe(Effect.scoped)

/**
 * @since 0.2.0
 * @category rendering
 */
export const render = (r: Result): string => {
  const ms = (x: number) => `${x.toFixed(2)} ms`
  return [
    `proxy: ${r.requests} requests each way against a zero-latency serve on loopback (no breakpoint: the gate has nothing to do)`,
    `  latency  direct p50 ${ms(r.direct.p50)} p99 ${ms(r.direct.p99)} · through the proxy p50 ${ms(r.proxied.p50)} p99 ${ms(r.proxied.p99)} · added p50 ${ms(r.proxied.p50 - r.direct.p50)} p99 ${ms(r.proxied.p99 - r.direct.p99)}`,
    `  throughput with ${r.concurrency} clients  direct ${Math.round(r.directRps)}/s · through the proxy ${Math.round(r.proxiedRps)}/s · ratio ${r.ratio.toFixed(2)}`,
    `  ${r.streams} concurrent streaming clients through the proxy: ${r.streamErrors} failed · the proxy's peak RSS ${r.peakRssMb} MB`
  ].join("\n")
}
