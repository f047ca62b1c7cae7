import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { anthropicModel } from "../fixtures.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import { program } from "./program.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"

const KEY = "sk-ant-cli-test-secret-000"

/** runs the program as a user would: a separate node process */
/** runs the program as a user would: a separate node process */
const cli = program

const dir = mkdtempSync(join(tmpdir(), "epc-cli-"))

/** three turns of a fan-out of three over a 2.5k-token system prompt, on `model`: the file's path */
const fanoutWorkload = (model: string): string => {
  const path = join(dir, `fanout-${model}.json`)
  writeFileSync(path, JSON.stringify({
    name: "fanout",
    model,
    system: "You review code. ".repeat(600),
    turns: [1, 2, 3].map((t) => ({
      append: t === 1 ? [{ role: "user", content: "Review the change." }] : [
        { role: "assistant", content: `Round ${t - 1} done.` },
        { role: "user", content: `Round ${t}, please.` }
      ],
      requests: [{ prompt: "security" }, { prompt: "tests" }, { prompt: "style" }]
    }))
  }))
  return path
}

describe("the program", () => {
  it.live("serve: a local Anthropic-compatible API that any SDK can point at", () =>
    Effect.gen(function*() {
      const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", "serve", "--port", "0"], {
        stdio: ["ignore", "pipe", "pipe"]
      })
      try {
        const url = yield* Effect.async<string>((resume) => {
          let out = ""
          child.stdout.on("data", (d) => {
            out += d
            const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
            if (m) resume(Effect.succeed(m[1]!))
          })
        }).pipe(Effect.timeout("20 seconds"), Effect.orDie)
        const lm = yield* anthropicModel({ apiKey: "any", baseURL: url })
        const request = {
          model: "claude-sonnet-4-6",
          max_tokens: 20,
          system: [{ type: "text" as const, text: "x".repeat(12_000), cache_control: { type: "ephemeral" as const } }],
          messages: [{ role: "user" as const, content: "hi" }]
        }
        const first = yield* lm.create(request)
        const second = yield* lm.create(request)
        expect(first.usage.cacheCreation5m).toBe(3000)
        expect(second.usage.cacheRead).toBe(3000)
      } finally {
        child.kill()
      }
    }), 60_000)

  it.live("run --json: one JSON document on stdout, exit 0", () =>
    Effect.gen(function*() {
      const r = yield* cli(["run", "--workload", "single-chat", "--warming", "auto", "--pruning", "off", "--json"])
      expect(r.code).toBe(0)
      const report = JSON.parse(r.stdout)
      expect(report).toMatchObject({ workload: "single-chat", provider: "simulated", warming: "auto", pruning: "off", failedRequests: 0 })
      expect(report.calls.request.count).toBe(8)
    }), 60_000)

  it.live("bench --json --chart writes every strategy and an SVG", () =>
    Effect.gen(function*() {
      const chart = join(dir, "chart.svg")
      const r = yield* cli(["bench", "--workload", "single-chat", "--json", "--chart", chart])
      expect(r.code).toBe(0)
      const doc = JSON.parse(r.stdout)
      expect(doc.workload).toBe("single-chat")
      expect(doc.results.map((x: { warming: string; pruning: string }) => `${x.warming}/${x.pruning}`)).toEqual([
        "off/off", "always/off", "auto/off", "off/on", "always/on", "auto/on"
      ])
      const svg = readFileSync(chart, "utf8")
      expect(svg).toMatch(/^<svg/)
      expect(svg).toContain("single-chat: cumulative cost")
      expect(svg).toContain("single-chat: cost per turn")
      for (const label of ["off, pruning off", "always, pruning off", "auto, pruning off", "off, pruning on", "always, pruning on", "auto, pruning on"]) {
        expect(svg).toContain(label)
      }
    }), 60_000)

  it.live("bad input: a one-line reason on stderr and a non-zero exit", () =>
    Effect.gen(function*() {
      const bad = join(dir, "bad.json")
      writeFileSync(bad, JSON.stringify({ name: "x", model: "claude-sonnet-4-6", turns: [{ requests: [{ prompt: 1 }] }] }))
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["run", "--workload", join(dir, "nope.json")], "no such file"],
        [["run", "--workload", bad], "turns.0.requests.0.prompt"],
        [["run", "--workload", "single-chat", "--provider", "anthropic"], "ANTHROPIC_API_KEY"],
        [["run", "--workload", "openai-agent", "--provider", "openai"], "OPENAI_API_KEY"],
        [["run", "--workload", "single-chat", "--provider", "bedrock"], "AWS_REGION"],
        [["run", "--workload", "single-chat", "--provider", "vertex"], "CLOUD_ML_REGION"],
        [["serve", "--faults", "overloaded=2"], "more than 1"]
      ]
      for (const [args, text] of cases) {
        const r = yield* cli(args)
        expect(r.code).not.toBe(0)
        const lines = r.stderr.trim().split("\n")
        expect(lines).toHaveLength(1)
        expect(lines[0]).toMatch(/^error: /)
        expect(lines[0]).toContain(text)
      }
    }), 60_000)

  /**
   * `run --provider <provider> --json` on a three-turn fan-out against a fresh server, the provider
   * configured from `env` (given the server's URL): the run must succeed without printing `KEY`, and
   * with auto warming write once per turn (8 of 9 requests read); its report and what the server got
   */
  const runAgainstServe = (provider: string, model: string, env: (url: string) => Record<string, string>) =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      const r = yield* cli(["run", "--workload", fanoutWorkload(model), "--provider", provider, "--json"], env(server.url))
      expect(r.stderr).not.toContain(KEY)
      expect(r.stdout).not.toContain(KEY)
      expect(r.code).toBe(0)
      const report = JSON.parse(r.stdout)
      expect(report.provider).toBe(provider)
      expect(report.details.simulatedTime).toBe(false)
      expect(report.calls.request.count).toBe(9)
      expect(report.calls.request.cacheHits).toBe(8)
      return { report, received: yield* server.received }
    }).pipe(Effect.provide(
      SimulatorServer.layer({ apiKey: KEY }).pipe(Layer.provide(SimulatedProvider.layer({ latency: SimulatedProvider.zeroLatency })))
    ))

  it.live("--provider anthropic runs through the real SDK against ANTHROPIC_BASE_URL; the key is never printed", () =>
    Effect.gen(function*() {
      const { received } = yield* runAgainstServe("anthropic", "claude-sonnet-4-6", (url) => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url }))
      expect(received.length).toBe(9)
      expect(received.every((x) => x.apiKeySha256 === SimulatorServer.keyDigest(KEY))).toBe(true)
    }), 60_000)

  it.live("--provider bedrock runs through the official Bedrock client against ANTHROPIC_BEDROCK_BASE_URL; the secret is never printed", () =>
    Effect.gen(function*() {
      const { received, report } = yield* runAgainstServe("bedrock", "us.anthropic.claude-sonnet-4-6-v1:0", (url) => ({
        AWS_REGION: "eu-west-1",
        AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY: KEY,
        ANTHROPIC_BEDROCK_BASE_URL: url
      }))
      expect(report.totalCostUsd).toBeGreaterThan(0)
      expect(new Set(received.map((x) => x.path.replace(/-with-response-stream$/, "")))).toEqual(new Set(["/model/us.anthropic.claude-sonnet-4-6-v1:0/invoke"]))
    }), 60_000)

  it.live("--provider openai runs through the openai SDK against OPENAI_BASE_URL; the key is never printed", () =>
    Effect.gen(function*() {
      const { received, report } = yield* runAgainstServe("openai", "gpt-5.6-terra", (url) => ({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `${url}/v1` }))
      expect(report.calls.request.cacheCreation1hInputTokens).toBe(0)
      expect(received.map((x) => x.path)).toEqual(Array(9).fill("/v1/chat/completions"))
      expect(received.every((x) => x.apiKeySha256 === SimulatorServer.keyDigest(KEY))).toBe(true)
      expect(received.every((x) => /^epc-[0-9a-f]{24}$/.test(String((x.body as { prompt_cache_key?: unknown }).prompt_cache_key)))).toBe(true)
    }), 60_000)
})
