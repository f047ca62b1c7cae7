import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as AnthropicClient from "../src/anthropic/AnthropicClient.js"
import * as AnthropicProvider from "../src/anthropic/AnthropicProvider.js"
import type { Message, MessagesRequest } from "../src/Prompt.js"

/** deterministic filler text of about `tokens` estimated tokens (4 characters a token) */
export const textOfTokens = (tokens: number, salt = "x"): string => {
  const unit = `${salt} lorem ipsum dolor sit amet consectetur `
  return unit.repeat(Math.ceil((tokens * 4) / unit.length)).slice(0, tokens * 4)
}

export const MODEL = "claude-sonnet-4-5"

/** a request whose system prompt (~`systemTokens`) carries the breakpoint, plus a short user prompt */
export const sharedPrefixRequest = (
  systemTokens: number,
  prompt: string,
  options: { maxTokens?: number; ttl?: "5m" | "1h"; model?: string } = {}
): MessagesRequest => ({
  model: options.model ?? MODEL,
  max_tokens: options.maxTokens ?? 200,
  system: [{
    type: "text",
    text: textOfTokens(systemTokens),
    cache_control: options.ttl === undefined ? { type: "ephemeral" } : { type: "ephemeral", ttl: options.ttl }
  }],
  messages: [{ role: "user", content: prompt }]
})

export const user = (text: string): Message => ({ role: "user", content: [{ type: "text", text }] })
export const assistant = (text: string): Message => ({ role: "assistant", content: [{ type: "text", text }] })

/** runs `effect` in a fiber, moves the test clock by `step`, and joins it */
export const runClocked = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  step: Parameters<typeof TestClock.adjust>[0] = "2 minutes"
) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(step)
    return yield* Fiber.join(fiber)
  })

/** the SDK-backed LanguageModel over a client of its own (fails when the key is missing) */
export const anthropicModel = (options: AnthropicClient.AnthropicOptions) =>
  Effect.provide(AnthropicProvider.make, AnthropicClient.layer(options))

/**
 * Waits until `check` holds, looking again every 20 ms: a readiness signal instead of a fixed delay.
 * The test's own timeout bounds the wait.
 */
export const until = <E, R>(check: Effect.Effect<boolean, E, R>) =>
  Effect.asVoid(Effect.repeat(check, { until: (ok) => ok, schedule: Schedule.spaced("20 millis") }))
