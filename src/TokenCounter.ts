/**
 * Token counting. The default layer is a fast, deterministic estimator (no I/O); the Anthropic layer
 * offers one backed by `POST /v1/messages/count_tokens`.
 *
 * The estimator's rule (documented in docs/simulator.md): text is `ceil(length / 4)` tokens (length in
 * UTF-16 code units), an image is 1,600 tokens, every other block or tool definition is
 * `ceil(length of its canonical JSON / 4)`, and every message adds 3 tokens for its role markers. It
 * is close to Anthropic's tokenizer on English prose and code, and exact enough for planning; the
 * simulator uses the same rule, so measured figures are internally consistent.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { canonicalJson, canonicalJsonOf } from "./internal/canonical.js"
import type { ContentBlock, MessagesRequest, Tool } from "./Prompt.js"
import { contentBlocks, systemBlocks } from "./Prompt.js"
import type { ProviderError } from "./ProviderError.js"
import { ObjectMemo } from "./internal/objectMemo.js"

/**
 * Tokens added per message for its role markers.
 *
 * @since 0.1.0
 * @category constants
 */
export const MESSAGE_OVERHEAD_TOKENS = 3

/**
 * Tokens an image is estimated at.
 *
 * @since 0.1.0
 * @category constants
 */
export const IMAGE_TOKENS = 1600

/**
 * @since 0.1.0
 * @category estimator
 */
export const estimateText = (text: string): number => Math.ceil(text.length / 4)

/**
 * Estimated tokens of one content block.
 *
 * @since 0.1.0
 * @category estimator
 */
export const estimateBlock = (block: ContentBlock): number => {
  let n = estimates.get(block)
  if (n === undefined) {
    n = estimateBlockUnmemoized(block)
    estimates.set(block, n)
  }
  return n
}

const estimates = new ObjectMemo<number>("estimate")

/**
 * {@link estimateBlock} without its per-block memo, for a caller that keeps its own (the prefix's
 * positions memoize a block's digest and estimate together).
 *
 * @since 0.4.0
 * @category estimator
 */
export const estimateBlockUnmemoized = (block: ContentBlock): number => {
  switch (block.type) {
    case "text":
      return estimateText((block as { text: string }).text)
    case "thinking":
      return estimateText((block as { thinking: string }).thinking)
    case "image":
      return IMAGE_TOKENS
    case "tool_result": {
      const content = (block as { content?: unknown }).content
      const inner = content === undefined
        ? 0
        : typeof content === "string"
        ? estimateText(content)
        : (content as ReadonlyArray<ContentBlock>).reduce((n, b) => n + estimateBlock(b), 0)
      return inner + 5
    }
    case "tool_use": {
      const b = block as { name: string; input: unknown }
      return estimateText(b.name) + estimateText(canonicalJsonOf(b.input)) + 5
    }
    default:
      return estimateText(canonicalJson(block))
  }
}

/**
 * Estimated tokens of one tool definition.
 *
 * @since 0.1.0
 * @category estimator
 */
export const estimateTool = (tool: Tool): number => estimateText(canonicalJson(tool))

/**
 * Estimated prompt tokens of a whole request (tools + system + messages).
 *
 * @since 0.1.0
 * @category estimator
 */
export const estimateRequest = (request: MessagesRequest): number => {
  let n = 0
  for (const tool of request.tools ?? []) n += estimateTool(tool)
  for (const block of systemBlocks(request.system)) n += estimateBlock(block)
  for (const message of request.messages) {
    n += MESSAGE_OVERHEAD_TOKENS
    for (const block of contentBlocks(message)) n += estimateBlock(block)
  }
  return n
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TokenCounterService {
  readonly countRequest: (request: MessagesRequest) => Effect.Effect<number, ProviderError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenCounter extends Context.Tag("effect-prompt-cache/TokenCounter")<
  TokenCounter,
  TokenCounterService
>() {}

/**
 * The estimator as a service value.
 *
 * @since 0.2.0
 * @category constructors
 */
export const estimator: TokenCounterService = {
  countRequest: (request) => Effect.sync(() => estimateRequest(request))
}

/**
 * The estimator as a service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEstimate: Layer.Layer<TokenCounter> = Layer.succeed(TokenCounter, estimator)
