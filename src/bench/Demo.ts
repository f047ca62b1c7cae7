/**
 * The problem and the fix in a few lines of output: three parallel requests over a fresh prefix each
 * pay a cache write; one warm call (`max_tokens: 0`) first, and the three parallel requests read it.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { LanguageModel } from "../LanguageModel.js"
import type { MessagesRequest } from "../Prompt.js"
import * as Pricing from "../Pricing.js"
import type { Usage } from "../Response.js"

const SYSTEM = "You are a careful code reviewer. ".repeat(640)

const request = (prompt: string, maxTokens: number): MessagesRequest => ({
  model: "claude-sonnet-4-6",
  max_tokens: maxTokens,
  system: [{ type: "text", text: SYSTEM, cache_control: { type: "ephemeral" } }],
  messages: [{ role: "user", content: prompt }]
})

const costOf = (u: Usage) => Pricing.microsToUsd(Pricing.costMicros(u, Pricing.defaultTable["claude-sonnet-4-6"]!))

const line = (label: string, u: Usage) => {
  const cost = costOf(u)
  return `${label.padEnd(16)} write ${String(u.cacheCreation5m + u.cacheCreation1h).padStart(6)}  read ${
    String(u.cacheRead).padStart(6)
  }  input ${String(u.input).padStart(4)}  output ${String(u.output).padStart(4)}  $${cost.toFixed(5)}`
}

/**
 * @since 0.1.0
 * @category programs
 */
export const demo = Effect.gen(function*() {
  const lm = yield* LanguageModel
  const questions = ["find bugs", "suggest tests", "summarize"]
  yield* Console.log(`provider: ${lm.provider}; a ${SYSTEM.length / 4}-token shared system prompt\n`)
  yield* Console.log("naive: three parallel requests over a fresh prefix")
  const naive = yield* Effect.all(questions.map((q) => lm.create(request(`1: ${q}`, 100))), { concurrency: "unbounded" })
  for (const [i, r] of naive.entries()) yield* Console.log(line(`  request ${i + 1}`, r.usage))
  yield* Effect.sleep("10 minutes") // let those entries expire
  yield* Console.log("\nwarmed: one max_tokens: 0 call, then the same three in parallel")
  const warm = yield* lm.create(request("warm", 0))
  yield* Console.log(line("  warm call", warm.usage))
  const warmed = yield* Effect.all(questions.map((q) => lm.create(request(`2: ${q}`, 100))), { concurrency: "unbounded" })
  for (const [i, r] of warmed.entries()) yield* Console.log(line(`  request ${i + 1}`, r.usage))
  // the totals, from the same usages and prices as the lines above
  const naiveUsd = naive.reduce((sum, r) => sum + costOf(r.usage), 0)
  const warmedUsd = [warm, ...warmed].reduce((sum, r) => sum + costOf(r.usage), 0)
  yield* Console.log(
    `\ntotal: naive $${naiveUsd.toFixed(5)}, warmed $${warmedUsd.toFixed(5)} — ${
      ((1 - warmedUsd / naiveUsd) * 100).toFixed(0)
    }% less, for one extra call (the waiters wait for its response to begin)`
  )
  return { naiveUsd, warmedUsd }
})
