/**
 * The prompt prefix as the cache sees it: an ordered list of block positions (tools → system →
 * messages), each with its token estimate, the cumulative tokens up to it, the breakpoint it carries,
 * and a canonical fingerprint of the whole prefix up to and including it.
 *
 * Fingerprints are chained SHA-256 over canonical JSON (sorted keys, `cache_control` ignored), so equal
 * prefixes get equal keys across processes and machines, and computing all of them is linear in the
 * prompt's size.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { canonicalJson } from "./internal/canonical.js"
import type { CacheControl, CacheTtl, ContentBlock, MessagesRequest } from "./Prompt.js"
import { cacheControlOf, contentBlocks, systemBlocks } from "./Prompt.js"
import { estimateBlock, estimateTool, MESSAGE_OVERHEAD_TOKENS } from "./TokenCounter.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Section = "tools" | "system" | "messages"

/**
 * One block position of the prefix.
 *
 * @since 0.1.0
 * @category models
 */
export interface Position {
  readonly index: number
  readonly section: Section
  /** index in `tools`, in the system blocks, or of the message */
  readonly itemIndex: number
  /** index of the block in its message (messages only) */
  readonly blockIndex: number
  readonly blockType: string
  readonly cacheControl: CacheControl | undefined
  /** whether a breakpoint may be put here (not thinking, not empty text) */
  readonly cacheable: boolean
  readonly tokens: number
  /** tokens of the prefix up to and including this position */
  readonly cumulativeTokens: number
  readonly fingerprint: string
}

/**
 * @since 0.1.0
 * @category options
 */
export interface PositionsOptions {
  /** per-block token estimate; default: the TokenCounter estimator */
  readonly estimate?: ((block: ContentBlock) => number) | undefined
}

const isCacheableBlock = (block: ContentBlock): boolean => {
  if (block.type === "thinking" || block.type === "redacted_thinking") return false
  if (block.type === "text" && (block as { text: string }).text.length === 0) return false
  return true
}

const hash = (previous: string, marker: string, payload: string): string =>
  createHash("sha256").update(previous).update("\u0000").update(marker).update("\u0000").update(payload).digest(
    "hex"
  )

/**
 * The fingerprint of the empty prefix of a model (the chain's seed).
 *
 * @since 0.1.0
 * @category fingerprints
 */
export const seed = (model: string): string => hash("effect-prompt-cache/v1", "model", model)

/**
 * Every block position of a request's prompt, in cache order.
 *
 * @since 0.1.0
 * @category positions
 */
export const positions = (request: MessagesRequest, options?: PositionsOptions): ReadonlyArray<Position> => {
  const estimate = options?.estimate ?? estimateBlock
  const out: Array<Position> = []
  let fp = seed(request.model)
  let cumulative = 0
  const push = (
    section: Section,
    itemIndex: number,
    blockIndex: number,
    block: ContentBlock,
    tokens: number,
    marker: string
  ) => {
    fp = hash(fp, marker, canonicalJson(block))
    cumulative += tokens
    out.push({
      index: out.length,
      section,
      itemIndex,
      blockIndex,
      blockType: block.type,
      cacheControl: cacheControlOf(block),
      cacheable: isCacheableBlock(block),
      tokens,
      cumulativeTokens: cumulative,
      fingerprint: fp
    })
  }
  ;(request.tools ?? []).forEach((tool, i) => {
    push("tools", i, 0, { type: "tool", ...tool } as unknown as ContentBlock, estimateTool(tool), "T")
  })
  systemBlocks(request.system).forEach((block, i) => push("system", i, 0, block, estimate(block), "S"))
  // tool_choice and thinking settings invalidate the messages part: fold them in where it starts.
  let messagesMarker = "C" + canonicalJson({ tool_choice: request.tool_choice, thinking: request.thinking })
  request.messages.forEach((message, m) => {
    contentBlocks(message).forEach((block, b) => {
      const first = b === 0
      const marker = (first ? `${messagesMarker}M:${message.role}` : "B")
      messagesMarker = ""
      push("messages", m, b, block, estimate(block) + (first ? MESSAGE_OVERHEAD_TOKENS : 0), marker)
    })
  })
  return out
}

/**
 * An explicit or automatic breakpoint, resolved to its position.
 *
 * @since 0.1.0
 * @category models
 */
export interface Breakpoint {
  readonly position: Position
  readonly ttl: CacheTtl
  /** set by the request's top-level `cache_control` (automatic caching) */
  readonly automatic: boolean
}

/**
 * The request's breakpoints in cache order: every block with `cache_control`, plus the automatic one
 * that a top-level `cache_control` puts on the last cacheable block.
 *
 * @since 0.1.0
 * @category positions
 */
export const breakpoints = (
  request: MessagesRequest,
  all: ReadonlyArray<Position> = positions(request)
): ReadonlyArray<Breakpoint> => {
  const out: Array<Breakpoint> = []
  for (const p of all) {
    if (p.cacheControl !== undefined) out.push({ position: p, ttl: p.cacheControl.ttl ?? "5m", automatic: false })
  }
  if (request.cache_control !== undefined) {
    for (let i = all.length - 1; i >= 0; i--) {
      const p = all[i]!
      if (p.cacheable) {
        if (!out.some((b) => b.position.index === p.index)) {
          out.push({ position: p, ttl: request.cache_control.ttl ?? "5m", automatic: true })
          out.sort((a, b) => a.position.index - b.position.index)
        }
        break
      }
    }
  }
  return out
}

/**
 * The fingerprint of the whole prompt (all positions), or of the model alone when it is empty.
 *
 * @since 0.1.0
 * @category fingerprints
 */
export const fingerprint = (request: MessagesRequest): string => {
  const all = positions(request)
  return all.length === 0 ? seed(request.model) : all[all.length - 1]!.fingerprint
}

/**
 * Total estimated prompt tokens.
 *
 * @since 0.1.0
 * @category positions
 */
export const totalTokens = (all: ReadonlyArray<Position>): number =>
  all.length === 0 ? 0 : all[all.length - 1]!.cumulativeTokens
