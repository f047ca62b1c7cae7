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
import { canonicalJson } from "./internal/canonical.js"
import { sha256Hex } from "./internal/sha256.js"
import type { CacheControl, CacheTtl, ContentBlock, MessagesRequest } from "./Prompt.js"
import { cacheControlOf, contentBlocks, systemBlocks } from "./Prompt.js"
import { canonicalModel } from "./Pricing.js"
import { estimateBlockUnmemoized, estimateTool, MESSAGE_OVERHEAD_TOKENS } from "./TokenCounter.js"
import { ObjectMemo } from "./internal/objectMemo.js"

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

const chain = new Map<string, Map<string, Map<string, string>>>()
let links = 0

/**
 * One link of the fingerprint chain. Links already computed (shared prefixes) are looked up, by the
 * very string objects computed before, so no key is built or rehashed.
 */
const hash = (previous: string, marker: string, payload: string): string => {
  let byMarker = chain.get(previous)
  if (byMarker === undefined) {
    // bounded: the links worth keeping are the shared prefixes', recomputed at once after a clear
    if (links >= 20_000) {
      chain.clear()
      links = 0
    }
    byMarker = new Map()
    chain.set(previous, byMarker)
  }
  let byPayload = byMarker.get(marker)
  if (byPayload === undefined) {
    byPayload = new Map()
    byMarker.set(marker, byPayload)
  }
  let fp = byPayload.get(payload)
  if (fp === undefined) {
    fp = sha256Hex(previous + "\u0000" + marker + "\u0000" + payload)
    byPayload.set(payload, fp)
    links++
  }
  return fp
}

const positionsMemo = new ObjectMemo<ReadonlyArray<Position>>("positions")

/**
 * Per-block memo: the digest of a block's canonical JSON and its default token estimate. Blocks are
 * shared by reference across the requests of a conversation, so each is serialized and hashed once.
 */
const blockMemo = new ObjectMemo<{ readonly digest: string; tokens: number | undefined }>("block")

const memoOf = (block: object) => {
  let memo = blockMemo.get(block)
  if (memo === undefined) {
    // the canonical JSON is not memoized on its own: this memo is the one a block needs
    memo = { digest: sha256Hex(canonicalJson(block)), tokens: undefined }
    blockMemo.set(block, memo)
  }
  return memo
}

/**
 * Lets `copy` (the same block with another `cache_control`, which fingerprints ignore) reuse the memo
 * of `original`.
 *
 * @since 0.1.0
 * @category fingerprints
 */
export const sameBlock = (copy: object, original: object): void => {
  blockMemo.set(copy, memoOf(original))
}

/**
 * The fingerprint of the empty prefix of a model (the chain's seed). A dated id and its alias
 * (`claude-sonnet-4-5-20250929`, `claude-sonnet-4-5`, `…-latest`) are one model: one cache, one price.
 *
 * @since 0.1.0
 * @category fingerprints
 */
export const seed = (model: string): string => hash("effect-prompt-cache/v1", "model", canonicalModel(model))

/**
 * Every block position of a request's prompt, in cache order.
 *
 * @since 0.1.0
 * @category positions
 */
export const positions = (request: MessagesRequest, options?: PositionsOptions): ReadonlyArray<Position> => {
  if (options?.estimate !== undefined) return computePositions(request, options)
  let all = positionsMemo.get(request)
  if (all === undefined) {
    all = computePositions(request, options)
    positionsMemo.set(request, all)
  }
  return all
}

/**
 * Records the positions of `request` as those of `base` with other breakpoints: valid when `request`
 * differs from `base` only by `cache_control` and request fields outside the prompt (`max_tokens`),
 * which fingerprints ignore. Saves recomputing them.
 *
 * @since 0.1.0
 * @category positions
 */
export const samePrompt = (
  request: MessagesRequest,
  base: ReadonlyArray<Position>,
  marks?: ReadonlyMap<number, CacheTtl>
): void => {
  if (marks === undefined || marks.size === 0) {
    positionsMemo.set(request, base)
    return
  }
  // a copy of the array (fast) with only the marked positions replaced
  const out = base.slice()
  for (const [index, ttl] of marks) {
    const p = out[index]
    if (p !== undefined) out[index] = { ...p, cacheControl: ttl === "1h" ? { type: "ephemeral", ttl: "1h" } : { type: "ephemeral" } }
  }
  positionsMemo.set(request, out)
}

const computePositions = (request: MessagesRequest, options?: PositionsOptions): ReadonlyArray<Position> => {
  const custom = options?.estimate
  const estimate = (block: ContentBlock, memo: { tokens: number | undefined }): number => {
    if (custom !== undefined) return custom(block)
    if (memo.tokens === undefined) memo.tokens = estimateBlockUnmemoized(block)
    return memo.tokens
  }
  const out: Array<Position> = []
  let fp = seed(request.model)
  let cumulative = 0
  const push = (
    section: Section,
    itemIndex: number,
    blockIndex: number,
    block: ContentBlock,
    tokens: (memo: { tokens: number | undefined }) => number,
    marker: string,
    key: object = block
  ) => {
    const memo = memoOf(key)
    const n = tokens(memo)
    fp = hash(fp, marker, memo.digest)
    cumulative += n
    out.push({
      index: out.length,
      section,
      itemIndex,
      blockIndex,
      blockType: block.type,
      cacheControl: cacheControlOf(block),
      cacheable: isCacheableBlock(block),
      tokens: n,
      cumulativeTokens: cumulative,
      fingerprint: fp
    })
  }
  ;(request.tools ?? []).forEach((tool, i) => {
    const asBlock = { type: "tool", ...tool } as unknown as ContentBlock
    // a custom estimate sees a tool definition as a block of type "tool"
    push("tools", i, 0, asBlock, (memo) => (custom !== undefined ? custom(asBlock) : (memo.tokens ??= estimateTool(tool))), "T", tool)
  })
  systemBlocks(request.system).forEach((block, i) => push("system", i, 0, block, (memo) => estimate(block, memo), "S"))
  // tool_choice and thinking settings invalidate the messages part: fold them in where it starts.
  const settings = settingsOf(request)
  let messagesMarker = settings === "" ? EMPTY_SETTINGS_MARKER : "C" + settings
  const messages = request.messages
  for (let m = 0; m < messages.length; m++) {
    const message = messages[m]!
    // a message seen before at the same place of the same prefix has the same positions
    const seen = custom === undefined ? messageMemo.get(message) : undefined
    if (
      seen !== undefined && seen.before === fp && seen.index === out.length && seen.itemIndex === m &&
      seen.cumulativeBefore === cumulative && seen.marker === messagesMarker
    ) {
      for (const p of seen.positions) out.push(p)
      fp = seen.after
      cumulative = seen.cumulativeAfter
      if (seen.positions.length > 0) messagesMarker = ""
      continue
    }
    const entry = { before: fp, index: out.length, itemIndex: m, cumulativeBefore: cumulative, marker: messagesMarker }
    contentBlocks(message).forEach((block, b) => {
      const first = b === 0
      const marker = (first ? `${messagesMarker}M:${message.role}` : "B")
      messagesMarker = ""
      push("messages", m, b, block, (memo) => estimate(block, memo) + (first ? MESSAGE_OVERHEAD_TOKENS : 0), marker)
    })
    if (custom === undefined) {
      // written out: V8 (Node 20) takes ~1 µs per property added to a spread copy (`{ ...entry, after }`)
      messageMemo.set(message, {
        before: entry.before,
        index: entry.index,
        itemIndex: entry.itemIndex,
        cumulativeBefore: entry.cumulativeBefore,
        marker: entry.marker,
        positions: out.slice(entry.index),
        after: fp,
        cumulativeAfter: cumulative
      })
    }
  }
  return out
}

const EMPTY_SETTINGS_MARKER = "C" + canonicalJson({})

/**
 * The settings that invalidate the messages part when they change (`tool_choice`, `thinking`), as one
 * comparable string: `""` when neither is set.
 *
 * @since 0.3.0
 * @category fingerprints
 */
export const settingsOf = (request: MessagesRequest): string =>
  request.tool_choice === undefined && request.thinking === undefined
    ? ""
    : canonicalJson({ tool_choice: request.tool_choice, thinking: request.thinking })

/**
 * Per-message memo: the positions a message got last time, and where in which prefix. A request that
 * shares message objects with one seen before (the same conversation one turn later, a fan-out's
 * requests, a pruned copy) reuses them after comparing the chain's fingerprint before the message.
 */
const messageMemo = new ObjectMemo<{
  readonly before: string
  readonly index: number
  readonly itemIndex: number
  readonly cumulativeBefore: number
  readonly marker: string
  readonly positions: ReadonlyArray<Position>
  readonly after: string
  readonly cumulativeAfter: number
}>("message")

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
  // memoized per (request, positions): the planner, the warmer, the simulator and the oracle all ask
  const memo = breakpointsMemo.get(request)
  if (memo !== undefined && memo.all === all) return memo.breakpoints
  const computed = computeBreakpoints(request, all)
  breakpointsMemo.set(request, { all, breakpoints: computed })
  return computed
}

const breakpointsMemo = new ObjectMemo<{ readonly all: ReadonlyArray<Position>; readonly breakpoints: ReadonlyArray<Breakpoint> }>("breakpoints")

const computeBreakpoints = (request: MessagesRequest, all: ReadonlyArray<Position>): ReadonlyArray<Breakpoint> => {
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

/**
 * Estimated tokens of the longest prefix two prompts share (their positions' chained fingerprints
 * agree up to there).
 *
 * @since 0.3.0
 * @category positions
 */
export const commonTokens = (a: ReadonlyArray<Position>, b: ReadonlyArray<Position>): number => {
  let common = 0
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i]!.fingerprint !== b[i]!.fingerprint) break
    common = b[i]!.cumulativeTokens
  }
  return common
}
