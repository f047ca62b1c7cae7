/**
 * The program as a newcomer meets it (issue 15, in part): help that states every default, no colour
 * codes in a pipe, a closed pipe that ends the program quietly, a busy port named, an output path
 * checked before the work, a soak of the size asked for.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import { shape } from "../../src/cli/SoakCommand.js"
import { program } from "./program.js"

const ESC = "\u001b"

describe("help", () => {
  it.live("run --help states each option's default, without colour codes when piped", () =>
    Effect.gen(function*() {
      const r = yield* program(["run", "--help"])
      expect(r.code).toBe(0)
      for (const text of ["(default: agent-session)", "(default: simulated)", "(default: auto)", "(default: on)", "(default: first-request)"]) {
        expect(r.stdout).toContain(text)
      }
      expect(r.stdout + r.stderr).not.toContain(ESC)
      // the usage line is what a reader types
      expect(r.stdout).toContain("$ effect-prompt-cache run [--workload text]")
    }), 60_000)

  it.live("NO_COLOR: no colour codes even on a terminal (run under script(1), which gives it one)", () =>
    Effect.gen(function*() {
      const r = yield* Effect.async<string>((resume) => {
        const child = spawn("script", ["-qec", `${process.execPath} --import tsx src/cli/bin.ts run --help`, "/dev/null"], {
          env: { ...process.env, NO_COLOR: "1" },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let out = ""
        child.stdout.on("data", (d) => (out += d))
        child.on("close", () => resume(Effect.succeed(out)))
      })
      expect(r).toContain("(default: auto)")
      expect(r).not.toContain(ESC)
    }), 60_000)

  it.live("bench --help describes --keep-alive once; serve --help states port and host", () =>
    Effect.gen(function*() {
      const bench = yield* program(["bench", "--help"])
      expect(bench.stdout.match(/also run auto with keep-alive/g)).toHaveLength(1)
      expect(bench.stdout).not.toContain("refresh prefixes with steady traffic")
      const serve = yield* program(["serve", "--help"])
      expect(serve.stdout).toContain("(default: 8787)")
      expect(serve.stdout).toContain("(default: 127.0.0.1, this machine only)")
    }), 60_000)
})

describe("the program's edges", () => {
  it.live("a reader that goes away (`| head`) ends the program quietly", () =>
    Effect.gen(function*() {
      const result = yield* Effect.async<{ code: number | null; stderr: string }>((resume) => {
        const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", "bench", "--workload", "all"], {
          stdio: ["ignore", "pipe", "pipe"]
        })
        let stderr = ""
        child.stderr.on("data", (d) => (stderr += d))
        child.stdout.once("data", () => child.stdout.destroy()) // what `head -1` does once it has its line
        child.on("close", (code) => resume(Effect.succeed({ code, stderr })))
      })
      expect(result.stderr).not.toContain("EPIPE")
      expect(result.stderr).not.toMatch(/\n\s+at /)
      expect(result.code).toBe(0)
    }), 60_000)

  it.live("serve on a port in use names the port and the reason", () =>
    Effect.gen(function*() {
      const busy = createServer()
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void busy.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => void busy.close())
      )
      const port = (busy.address() as AddressInfo).port
      const r = yield* program(["serve", "--port", String(port)])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`error: cannot listen on 127.0.0.1:${port}: the address is already in use`)
    }).pipe(Effect.scoped), 60_000)

  it.live("bench --chart into a folder that does not exist fails before the benchmark runs", () =>
    Effect.gen(function*() {
      const r = yield* program(["bench", "--chart", "/nonexistent/x.svg"])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain("--chart /nonexistent/x.svg: cannot write there")
      expect(r.stdout).toBe("")
    }), 60_000)

  it("soak runs about the number of requests asked for", () => {
    const total = (s: ReturnType<typeof shape>) => s.sessions * s.turns * s.fanOut
    expect(total(shape(500))).toBe(500)
    expect(total(shape(10_000))).toBe(10_000)
    expect(shape(10_000)).toEqual({ sessions: 200, turns: 10, fanOut: 5 })
    expect(total(shape(1))).toBe(5)
    // within one round of fan-outs (turns × 5) of the count asked for
    for (const n of [7, 999, 1_001, 2_500, 12_345]) expect(Math.abs(total(shape(n)) - n)).toBeLessThanOrEqual(shape(n).turns * 5)
  })
})
