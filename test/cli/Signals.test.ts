/**
 * The program as `npm start` runs it, stopped the way `docker stop`, systemd or a CI cancel stop it:
 * a signal to npm's own process id. The signal must reach the program, which aborts its in-flight
 * calls (the server sees each client go) and exits non-zero; nothing is left running.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"
import { until } from "../fixtures.js"

const KEY = "sk-ant-signal-test-key"

/** an upstream whose every call takes a minute: whatever the program sends is in flight when the signal comes */
const Upstream = SimulatorServer.layer({ apiKey: KEY }).pipe(
  Layer.provideMerge(SimulatedProvider.layer({ latency: { ...SimulatedProvider.zeroLatency, baseMs: 60_000 } }))
)


describe("signals", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it.live(`${signal} to npm's pid stops \`npm start -- run\`: in-flight calls aborted, exit non-zero`, () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const sim = yield* SimulatedProvider.Simulator
        const npm = spawn("npm", ["start", "--silent", "--", "run", "--workload", "multi-user-burst", "--provider", "anthropic"], {
          env: { ...process.env, ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.url, REDIS_URL: "" },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let stderr = ""
        npm.stderr.on("data", (d) => (stderr += d))
        const exited = Effect.async<number | null>((resume) => {
          if (npm.exitCode !== null) return resume(Effect.succeed(npm.exitCode))
          npm.on("exit", (code, sig) => resume(Effect.succeed(code ?? (sig === null ? null : 128))))
        })
        try {
          // ready: the program's first requests have reached the upstream
          yield* until(Effect.map(sim.calls, (calls) => calls.length > 0))
          const inFlight = (yield* sim.calls).length
          npm.kill(signal)
          const code = yield* exited
          expect(code).not.toBe(0)
          expect(code).not.toBe(null)
          // every call the program had in flight was aborted: the upstream saw each client go away
          yield* until(Effect.map(sim.calls, (calls) => calls.every((c) => c.outcome !== "pending")))
          const calls = yield* sim.calls
          expect(calls.length).toBeGreaterThanOrEqual(inFlight)
          expect(calls.every((c) => c.outcome === "interrupted")).toBe(true)
          expect(stderr).not.toContain(KEY)
        } finally {
          npm.kill("SIGKILL")
        }
      }).pipe(Effect.provide(Upstream)), 120_000)
  }
})
