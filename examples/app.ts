/**
 * A small Effect app: three reviewers look at the same change in parallel. The shared prompt (system
 * + the diff) is cached once and read by all three; the provider is the real Anthropic API.
 *
 * Run it with a key:  ANTHROPIC_API_KEY=... npx tsx examples/app.ts
 * Or offline:         npm start -- serve   (then ANTHROPIC_BASE_URL=http://127.0.0.1:8787 ANTHROPIC_API_KEY=x)
 */
import { Console, Effect, Either, Layer } from "effect"
import { CacheMetrics, Pipeline } from "effect-prompt-cache"
import { AnthropicProvider } from "effect-prompt-cache/anthropic"

const SYSTEM = "You are a meticulous senior reviewer. Be concrete; cite line numbers. ".repeat(200)

export const reviewChange = (diff: string) =>
  Effect.gen(function*() {
    const pipeline = yield* Pipeline.Pipeline
    const turn = yield* pipeline.turn({
      sessionId: "review-42",
      conversation: {
        model: "claude-sonnet-4-6",
        max_tokens: 400,
        system: SYSTEM,
        messages: [{ role: "user", content: `Here is the change:\n${diff}` }]
      },
      prompts: [{ prompt: "List security issues." }, { prompt: "List missing tests." }, { prompt: "List style issues." }]
    })
    return turn.responses.map(Either.map((r) => r.content))
  })

// The app's layers: the pipeline (pruner, warmer, metrics, registry, prices) over the Anthropic provider.
export const AppLive = Pipeline.layer({ warmer: { policy: "auto" } }).pipe(Layer.provide(AnthropicProvider.layerConfig()))

const main = Effect.gen(function*() {
  const reviews = yield* reviewChange("- const total = a + b\n+ const total = round(a + b)")
  yield* Console.log(reviews)
  const metrics = yield* CacheMetrics.CacheMetrics
  yield* Console.log(JSON.stringify((yield* metrics.snapshot).calls, null, 2))
})

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.runPromise(main.pipe(Effect.provide(AppLive))).catch((e) => {
    console.error(String(e))
    process.exit(1)
  })
}
