/**
 * The pruner's own timing on a 10,000-message agent conversation.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as ContextPruner from "../ContextPruner.js"
import { tokensFrom } from "../internal/pruneRules.js"
import type { Message, MessagesRequest } from "../Prompt.js"

/**
 * @since 0.1.0
 * @category benchmarks
 */
export interface Result {
  readonly messages: number
  readonly tokens: number
  readonly firstMs: number
  readonly repeatMs: number
  readonly tokensFreed: number
}

/**
 * Pruning a 10,000-message, ~2M-token agent conversation: a first prune (every rule over every call)
 * and a second one of the same conversation (the monotone state applied again).
 *
 * @since 0.1.0
 * @category benchmarks
 */
export const run = (): Effect.Effect<Result> =>
  Effect.gen(function*() {
    const messages: Array<Message> = [{ role: "user", content: "Start the long task." }]
    const paths = Array.from({ length: 300 }, (_, i) => `src/module${i}.ts`)
    const body = (i: number) => `export const value${i} = ${i};\n`.repeat(24) // ~200 tokens
    let id = 0
    while (messages.length < 10_000) {
      const n = id++
      const path = paths[(n * 7919) % paths.length]!
      const kind = n % 10
      const name = kind < 6 ? "read" : kind < 8 ? "write" : "bash"
      const input = name === "read" ? { path } : name === "write" ? { path, content: body(n) } : { command: `npm test -- ${n % 13}` }
      const toolId = `toolu_${n.toString().padStart(6, "0")}`
      messages.push({ role: "assistant", content: [{ type: "tool_use", id: toolId, name, input }] })
      messages.push({
        role: "user",
        content: [{
          type: "tool_result",
          tool_use_id: toolId,
          content: name === "write" ? "written" : body(n).repeat(3),
          ...(kind === 9 ? { is_error: true } : {})
        }]
      })
    }
    const request: MessagesRequest = { model: "claude-sonnet-4-6", max_tokens: 100, system: "You are an agent.", messages }
    const pruner = yield* ContextPruner.make({ clearAtLeast: 0 })
    const t0 = performance.now()
    const first = yield* pruner.prune({ conversationId: "bench", request, cold: true })
    const t1 = performance.now()
    yield* pruner.prune({ conversationId: "bench", request, cold: false })
    const t2 = performance.now()
    return {
      messages: messages.length,
      tokens: tokensFrom(messages, 0),
      firstMs: t1 - t0,
      repeatMs: t2 - t1,
      tokensFreed: Object.values(first.newlyPruned).reduce((a, b) => a + b, 0)
    }
  })

/**
 * @since 0.1.0
 * @category benchmarks
 */
export const render = (p: Result) =>
  [
    `pruner: ${p.messages} messages, ~${(p.tokens / 1e6).toFixed(2)}M tokens`,
    `  first prune ${p.firstMs.toFixed(0)} ms (freed ${p.tokensFreed} tokens); same conversation again ${p.repeatMs.toFixed(0)} ms`
  ].join("\n")
