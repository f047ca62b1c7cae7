/**
 * `serve` as third-party clients meet it, as a separate process: the Vercel AI SDK with the base URL
 * the banner prints for it (`…/v1`), and LangChain's ChatAnthropic with structured output (a forced
 * tool call), which the server used to answer with plain text; and on the OpenAI side, the AI SDK's
 * OpenAI chat provider and LangChain's ChatOpenAI at the banner's `OPENAI_BASE_URL`.
 */
import { createAnthropic } from "@ai-sdk/anthropic"
import { createOpenAI } from "@ai-sdk/openai"
import { ChatAnthropic } from "@langchain/anthropic"
import { ChatOpenAI } from "@langchain/openai"
import { describe, expect, it } from "@effect/vitest"
import { generateText, streamText } from "ai"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import Prom from "prom2javascript"
import { z } from "zod"

const SYSTEM = "You are a terse assistant who answers in one short sentence. ".repeat(200)

/** `serve --port 0` as a process; its banner's URLs once it is ready; killed with the scope */
const serveWith = (extra: ReadonlyArray<string>, ready: (out: string) => boolean = () => true) =>
  Effect.acquireRelease(
    Effect.async<{ readonly child: ReturnType<typeof spawn>; readonly sdkUrl: string; readonly aiSdkUrl: string; readonly openaiUrl: string; readonly out: () => string }>((resume) => {
      const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", "serve", "--port", "0", ...extra], { stdio: ["ignore", "pipe", "inherit"] })
      let out = ""
      child.stdout!.on("data", (d) => {
        out += d
        const sdkUrl = /ANTHROPIC_BASE_URL=(\S+)/.exec(out)?.[1]
        const aiSdkUrl = /baseURL (\S+)/.exec(out)?.[1]
        const openaiUrl = /OPENAI_BASE_URL=(\S+)/.exec(out)?.[1]
        if (sdkUrl !== undefined && aiSdkUrl !== undefined && openaiUrl !== undefined && ready(out)) {
          resume(Effect.succeed({ child, sdkUrl, aiSdkUrl, openaiUrl, out: () => out }))
        }
      })
    }),
    ({ child }) => Effect.sync(() => void child.kill())
  )
const serve = serveWith([])

describe("third-party clients against serve", () => {
  it.live("serve --metrics-port: the Vercel AI SDK's calls, streamed and not, counted in the Prometheus exposition", () =>
    Effect.gen(function*() {
      const { aiSdkUrl, out } = yield* serveWith(["--metrics-port", "0"], (o) => /metrics on (\S+)/.test(o))
      const metricsUrl = /metrics on (\S+)/.exec(out())![1]!
      const anthropic = createAnthropic({ apiKey: "any-key", baseURL: aiSdkUrl })
      const plain = yield* Effect.promise(() => generateText({ model: anthropic("claude-sonnet-4-6"), system: SYSTEM, prompt: "Hi", maxRetries: 0 }))
      const streamed = streamText({ model: anthropic("claude-sonnet-4-6"), system: SYSTEM, prompt: "Hello", maxRetries: 0 })
      const usage = yield* Effect.promise(async () => {
        for await (const _ of streamed.textStream) void _
        return streamed.usage
      })
      const text = yield* Effect.promise(() => fetch(metricsUrl).then((r) => r.text()))
      const families = yield* Effect.promise(() => Prom.getMetricsFromIterator(text.split("\n")[Symbol.iterator]()))
      const series = (name: string, kind?: string) =>
        (families[name]?.data as ReadonlyArray<Prom.PromData> | undefined)?.find((d) =>
          d.labels.call === "request" && d.labels.model === "claude-sonnet-4-6" && d.labels.kind === kind
        )?.value
      expect(series("epc_calls_total")).toBe(2)
      expect(series("epc_tokens_total", "output")).toBe((plain.usage.outputTokens ?? 0) + (usage.outputTokens ?? 0))
    }).pipe(Effect.scoped), 120_000)

  it.live("the Vercel AI SDK, with the printed base URL: text, a stream, and the cache written then read", () =>
    Effect.gen(function*() {
      const { aiSdkUrl } = yield* serve
      expect(aiSdkUrl).toMatch(/\/v1$/)
      const anthropic = createAnthropic({ baseURL: aiSdkUrl, apiKey: "any-key" })
      const ask = (prompt: string) =>
        Effect.promise(() =>
          generateText({
            model: anthropic("claude-sonnet-4-6"),
            maxOutputTokens: 20,
            // the system message carries the cache breakpoint, so it goes in messages, on purpose
            allowSystemInMessages: true,
            messages: [
              { role: "system", content: SYSTEM, providerOptions: { anthropic: { cacheControl: { type: "ephemeral" } } } },
              { role: "user", content: prompt }
            ]
          })
        )
      const first = yield* ask("Hello?")
      expect(first.text.length).toBeGreaterThan(0)
      expect(first.providerMetadata?.anthropic?.cacheCreationInputTokens).toBeGreaterThan(2000)
      const second = yield* ask("And again?")
      expect(second.usage.cachedInputTokens).toBe(first.providerMetadata?.anthropic?.cacheCreationInputTokens)
      const streamed = yield* Effect.promise(async () => {
        const result = streamText({ model: anthropic("claude-sonnet-4-6"), maxOutputTokens: 40, prompt: "Stream, please." })
        const parts: Array<string> = []
        for await (const part of result.textStream) parts.push(part)
        return parts
      })
      expect(streamed.length).toBeGreaterThan(1)
    }).pipe(Effect.scoped), 120_000)

  it.live("LangChain's ChatAnthropic: withStructuredOutput gets a tool call that fits the schema", () =>
    Effect.gen(function*() {
      const { sdkUrl } = yield* serve
      const model = new ChatAnthropic({ model: "claude-sonnet-4-6", apiKey: "any-key", anthropicApiUrl: sdkUrl, maxTokens: 200, maxRetries: 0 })
      const Joke = z.object({ setup: z.string(), punchline: z.string(), rating: z.number().int().min(1) })
      const joke = yield* Effect.promise(() => model.withStructuredOutput(Joke, { name: "Joke" }).invoke("Tell me a joke"))
      expect(Joke.parse(joke)).toEqual(joke)
      const plain = yield* Effect.promise(() => model.invoke("Hello"))
      expect(String(plain.content).length).toBeGreaterThan(0)
    }).pipe(Effect.scoped), 120_000)

  it.live("the Vercel AI SDK's OpenAI chat provider: text, a stream, and the prefix cached then read", () =>
    Effect.gen(function*() {
      const { openaiUrl } = yield* serve
      const openai = createOpenAI({ baseURL: openaiUrl, apiKey: "any-key" })
      const ask = (prompt: string) =>
        Effect.promise(() => generateText({ model: openai.chat("gpt-4.1"), maxOutputTokens: 20, system: SYSTEM, prompt }))
      const first = yield* ask("Hello?")
      expect(first.text.length).toBeGreaterThan(0)
      expect(first.usage.cachedInputTokens ?? 0).toBe(0)
      const second = yield* ask("And again?")
      expect(second.usage.cachedInputTokens).toBeGreaterThan(2000)
      expect((second.usage.cachedInputTokens! - 1024) % 128).toBe(0)
      const streamed = yield* Effect.promise(async () => {
        const result = streamText({ model: openai.chat("gpt-4.1"), maxOutputTokens: 40, prompt: "Stream, please." })
        const parts: Array<string> = []
        for await (const part of result.textStream) parts.push(part)
        return parts
      })
      expect(streamed.length).toBeGreaterThan(1)
    }).pipe(Effect.scoped), 120_000)

  it.live("LangChain's ChatOpenAI: a reply, and withStructuredOutput gets a tool call that fits the schema", () =>
    Effect.gen(function*() {
      const { openaiUrl } = yield* serve
      const model = new ChatOpenAI({ model: "gpt-4.1", apiKey: "any-key", configuration: { baseURL: openaiUrl }, maxTokens: 200, maxRetries: 0 })
      const plain = yield* Effect.promise(() => model.invoke("Hello"))
      expect(String(plain.content).length).toBeGreaterThan(0)
      const Joke = z.object({ setup: z.string(), punchline: z.string(), rating: z.number().int().min(1) })
      const joke = yield* Effect.promise(() => model.withStructuredOutput(Joke, { name: "Joke", method: "functionCalling" }).invoke("Tell me a joke"))
      expect(Joke.parse(joke)).toEqual(joke)
    }).pipe(Effect.scoped), 120_000)
})
