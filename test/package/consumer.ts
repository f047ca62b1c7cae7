/**
 * A fresh app that installed the packed tarball: the README's "Use it in an Effect app", run on the
 * simulator wing. Type-checked against the installed `.d.ts` and run with node by Package.test.ts.
 */
import { Effect, Either, Layer } from "effect"
import { CacheMetrics, Pipeline } from "effect-prompt-cache"
import { AnthropicProvider, Bedrock, Vertex } from "effect-prompt-cache/anthropic"
import { OpenAIProvider } from "effect-prompt-cache/openai"
import { SimulatedProvider, VirtualTime } from "effect-prompt-cache/simulator"

const SYSTEM = "You are a meticulous senior reviewer. Be concrete; cite line numbers. ".repeat(200)

const review = (diff: string) =>
  Effect.gen(function*() {
    const pipeline = yield* Pipeline.Pipeline
    const turn = yield* pipeline.turn({
      sessionId: "review-42",
      conversation: { model: "claude-sonnet-4-6", max_tokens: 400, system: SYSTEM, messages: [{ role: "user", content: diff }] },
      prompts: [{ prompt: "List security issues." }, { prompt: "List missing tests." }, { prompt: "List style issues." }]
    })
    return turn.responses.map(Either.map((r) => r.content))
  })

// the app's real stack, built but not run (no key here): it must type-check against the installed wing
export const AppLive = Pipeline.layer({ warmer: { policy: "auto" } }).pipe(Layer.provide(AnthropicProvider.layerConfig()))
export const OpenAILive = Pipeline.layer().pipe(Layer.provide(OpenAIProvider.layerConfig()))
// the cloud platforms' layers type-check without their optional peer packages installed
export const BedrockLive = Pipeline.layer().pipe(Layer.provide(Bedrock.layerBedrockConfig()))
export const VertexLive = Pipeline.layer().pipe(Layer.provide(Vertex.layerVertexConfig()))
const TestLive = Pipeline.layer().pipe(Layer.provideMerge(SimulatedProvider.layer()))

const main = Effect.gen(function*() {
  const reviews = yield* review("- a\n+ b")
  const snapshot = yield* Effect.flatMap(CacheMetrics.CacheMetrics, (m) => m.snapshot)
  const closed: Record<string, string> = {}
  for (const path of ["effect-prompt-cache/cli/bin", "effect-prompt-cache/bench/Runner", "effect-prompt-cache/internal/lru", "effect-prompt-cache/Pipeline"]) {
    closed[path] = yield* Effect.promise(() => import(path).then(() => "importable", (e: { code?: string }) => e.code ?? "error"))
  }
  return {
    ok: reviews.filter(Either.isRight).length,
    requests: snapshot.calls.request.count,
    hits: snapshot.calls.request.cacheHits,
    closed
  }
})

// the whole program on the simulator's virtual clock
Effect.runPromise(VirtualTime.run(main.pipe(Effect.provide(TestLive)))).then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(String(error))
    throw error // an unhandled rejection: node exits non-zero
  }
)
