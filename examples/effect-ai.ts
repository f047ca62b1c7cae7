/**
 * An app written on @effect/ai only: five analysts ask their own question about one long brief, at
 * once. Without the decorator each call writes the brief into the cache (5 writes); with it the first
 * call writes it and the other four wait for its response to begin, then read it. The app's code is
 * plain @effect/ai — the decorator is one layer.
 *
 * Run it with a key:  ANTHROPIC_API_KEY=... npx tsx examples/effect-ai.ts
 * Or offline:         npm start -- serve   (then ANTHROPIC_BASE_URL=http://127.0.0.1:8787 ANTHROPIC_API_KEY=x)
 */
import { LanguageModel } from "@effect/ai"
import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
import { NodeHttpClient } from "@effect/platform-node"
import { Config, Console, Effect, Layer } from "effect"
import { CacheMetrics, Pricing, WarmRegistry } from "effect-prompt-cache"
import { WarmingLanguageModel } from "effect-prompt-cache/effect-ai"

const MODEL = "claude-sonnet-4-6"
const BRIEF = "Brief: the quarterly report of a small bakery, with every figure and footnote. ".repeat(300)
const QUESTIONS = ["Summarise revenue.", "List the risks.", "What changed since last quarter?", "Name three savings.", "Who are the suppliers?"]

/** the app: plain @effect/ai, five calls in parallel over one system prompt */
export const analyse = Effect.forEach(
  QUESTIONS,
  (question) =>
    Effect.map(
      LanguageModel.generateText({ prompt: [{ role: "system", content: BRIEF }, { role: "user", content: [{ type: "text", text: question }] }] }),
      (response) => response.text
    ),
  { concurrency: "unbounded" }
)

/** @effect/ai-anthropic, configured from the environment (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL) */
const AnthropicLive = AnthropicLanguageModel.layer({ model: MODEL }).pipe(
  Layer.provide(AnthropicClient.layerConfig({
    apiKey: Config.redacted("ANTHROPIC_API_KEY"),
    apiUrl: Config.string("ANTHROPIC_BASE_URL").pipe(Config.withDefault("https://api.anthropic.com"))
  })),
  Layer.provide(NodeHttpClient.layerUndici)
)

/**
 * The decorator over it: the gate (an in-memory registry; the Redis wing's for replicas), the prices,
 * and the metrics the app can read.
 */
export const AppLive = WarmingLanguageModel.layer({ model: MODEL }).pipe(
  Layer.provide(AnthropicLive),
  Layer.provide(WarmRegistry.layerMemory()),
  Layer.provideMerge(CacheMetrics.layer),
  Layer.provideMerge(Pricing.layerDefault)
)

const main = Effect.gen(function*() {
  const answers = yield* analyse
  yield* Console.log(answers.map((a, i) => `${QUESTIONS[i]} → ${a.slice(0, 80)}`).join("\n"))
  const snapshot = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
  yield* Console.log(`gate: ${JSON.stringify(snapshot.gates)}; cache read ${snapshot.totals.cacheReadInputTokens} tokens, written ${snapshot.totals.cacheCreationInputTokens}`)
})

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.runPromise(main.pipe(Effect.provide(AppLive))).catch((e) => {
    console.error(String(e))
    process.exit(1)
  })
}
