/**
 * The program as a hostile user tries it: bad flags, a Redis that is down under `--json`, a server that
 * echoes the key in its error body. Each case: one line on stderr that says what is wrong, a non-zero
 * exit, nothing sent, nothing secret printed.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"
import { program } from "./program.js"

const KEY = "sk-ant-hardening-secret-0123456789"

/** a one-turn workload: runs in a moment against a real-time server */
const quick = join(mkdtempSync(join(tmpdir(), "epc-hardening-")), "quick.json")
writeFileSync(quick, JSON.stringify({
  name: "quick",
  model: "claude-sonnet-4-6",
  system: "You are terse. ".repeat(700),
  turns: [{ append: [{ role: "user", content: "Hello" }], requests: [{ prompt: "One." }, { prompt: "Two." }] }]
}))

const Server = SimulatorServer.layer({ apiKey: KEY }).pipe(
  Layer.provideMerge(SimulatedProvider.layer({ latency: SimulatedProvider.zeroLatency }))
)

describe("flags", () => {
  const bad: ReadonlyArray<{ readonly args: ReadonlyArray<string>; readonly says: string }> = [
    { args: ["run", "--metrics-port", "99999"], says: "--metrics-port must be an integer from 0 to 65,535" },
    { args: ["serve", "--port", "-5"], says: "--port must be an integer from 0 to 65,535" },
    { args: ["bench", "--replicas", "-3"], says: "--replicas must be an integer from 1 to 64" },
    { args: ["bench", "--replicas", "2", "--registry-latency-ms", "-1"], says: "--registry-latency-ms must be a number from 0 to 10000" },
    { args: ["bench", "--curves", "/tmp/epc-curves.svg"], says: "--curves draws the scale study: give it --scale, --replicas N, or both" },
    { args: ["soak", "--requests", "-1"], says: "--requests must be an integer from 1 to 1,000,000" },
    { args: ["run", "--warming", "off", "--keep-alive"], says: "--keep-alive works with --warming auto only" },
    { args: ["run", "--time-scale", "0"], says: "--time-scale must be a number above 0, at most 1000" },
    { args: ["run", "--warming", "off", "--method", "warm-call"], says: "--method chooses how --warming auto establishes a prefix" }
  ]
  for (const c of bad) {
    it.live(`${c.args.join(" ")}: refused in one line, nothing run`, () =>
      Effect.gen(function*() {
        const r = yield* program(c.args)
        expect(r.code).toBe(1)
        expect(r.stderr).toContain(c.says)
        expect(r.stderr).not.toContain("[object Object]")
        expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
        expect(r.stdout).not.toMatch(/workload|replicas:|soak|simulated Anthropic API/)
      }), 60_000)
  }
})

describe("workload files", () => {
  // root reads any file it owns, so as root the unreadable file is a kernel one that nobody may read:
  // a write-only sysctl (reading it is EACCES even for root). Running the program as another user
  // instead would need the checkout to be readable by that user, which a CI clone need not be.
  const WRITE_ONLY = "/proc/sys/vm/compact_memory"
  const root = process.getuid?.() === 0
  it.live.skipIf(root && !existsSync(WRITE_ONLY))("a file the program may not read: the path and 'permission denied', nothing run", () =>
    Effect.gen(function*() {
      let path = WRITE_ONLY
      if (!root) {
        path = join(mkdtempSync(join(tmpdir(), "epc-perm-")), "secret.json")
        writeFileSync(path, "{}")
        chmodSync(path, 0o000)
      }
      const r = yield* program(["run", "--workload", path])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`error: workload ${path}: cannot read it (permission denied)`)
      expect(r.stderr).not.toContain("unknown error")
      expect(r.stdout).toBe("")
    }), 60_000)
})

describe("output", () => {
  it.live("run --json with Redis down: the warning goes to stderr, stdout parses as JSON", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      const r = yield* program(["run", "--workload", quick, "--provider", "anthropic", "--json"], {
        ANTHROPIC_API_KEY: KEY,
        ANTHROPIC_BASE_URL: server.url,
        REDIS_URL: "redis://127.0.0.1:1"
      })
      expect(r.code).toBe(0)
      const report = JSON.parse(r.stdout) as { workload: string }
      expect(report.workload).toBe("quick")
      expect(r.stderr).toMatch(/WARN.*Redis/i)
    }).pipe(Effect.provide(Server)), 60_000)

  it.live("a server that echoes the request headers in its error body cannot make the program print the key", () =>
    Effect.gen(function*() {
      const echo = createServer((req, res) => {
        res.writeHead(400, { "content-type": "application/json", "request-id": "req_echo" })
        res.end(JSON.stringify({
          type: "error",
          error: { type: "invalid_request_error", message: `bad request; headers were ${JSON.stringify(req.headers)}` }
        }))
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void echo.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => void echo.close())
      )
      const url = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`
      for (const json of [false, true]) {
        const r = yield* program(["run", "--workload", quick, "--provider", "anthropic", ...(json ? ["--json"] : [])], {
          ANTHROPIC_API_KEY: KEY,
          ANTHROPIC_BASE_URL: url
        })
        expect(r.code).toBe(1)
        expect(r.stdout + r.stderr).toContain("bad request; headers were")
        expect(r.stdout + r.stderr).toContain("[redacted]")
        expect(r.stdout + r.stderr).not.toContain(KEY)
        expect(r.stdout + r.stderr).not.toContain(KEY.slice(8, 24))
      }
    }).pipe(Effect.scoped), 60_000)
})
