/**
 * Places at most 4 `cache_control` breakpoints on a request so that the shared part is cached and
 * later turns read earlier ones:
 *
 * 1. the end of this turn's shared prefix (the last shared block, never the per-request suffix);
 * 2. the end of tools + system (stable across sessions and users; optionally 1h);
 * 3. the end of the previous turn's shared prefix, so that a turn which adds more than 20 blocks still
 *    reads the previous turn's entry through the 20-position lookback.
 *
 * Breakpoints the caller set are kept and counted; thinking and empty text blocks are never marked
 * (the planner steps back to the nearest cacheable block); 1h breakpoints stay before 5m ones; a
 * breakpoint whose prefix is below the model's minimum is not placed (it would cache nothing).
 *
 * Pure: no effects, no state.
 *
 * @since 0.1.0
 */
import type { Position } from "./Prefix.js"
import { breakpoints, positions, sameBlock, samePrompt } from "./Prefix.js"
import type { CacheTtl, ContentBlock, MessagesRequest, TextBlock, Tool } from "./Prompt.js"
import { contentBlocks, systemBlocks } from "./Prompt.js"
import { MAX_BREAKPOINTS } from "./PromptValidation.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Role = "caller" | "turn" | "system" | "previous-turn"

/**
 * @since 0.1.0
 * @category models
 */
export interface PlannedBreakpoint {
  readonly index: number
  readonly fingerprint: string
  readonly ttl: CacheTtl
  readonly cumulativeTokens: number
  readonly role: Role
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PlanInput {
  readonly request: MessagesRequest
  /** positions `[0, sharedPositions)` are shared by every request of the fan-out */
  readonly sharedPositions: number
  /** where the previous turn's shared prefix ended, if there was one */
  readonly previousSharedPositions?: number | undefined
  /** TTL of the tools+system breakpoint (default 5m) */
  readonly systemTtl?: CacheTtl | undefined
  /** the model's minimum cacheable prefix (default 0: place everywhere) */
  readonly minTokens?: number | undefined
}

/**
 * A request with its breakpoints resolved (fingerprint, TTL and prefix length of each): what the
 * planner returns and the warmer takes as it is, so neither computes them again.
 *
 * @since 0.1.0
 * @category models
 */
export interface Planned {
  readonly request: MessagesRequest
  /** every breakpoint of the request, in cache order */
  readonly breakpoints: ReadonlyArray<PlannedBreakpoint>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Plan extends Planned {
  /** the breakpoint that ends the shared prefix, when one could be placed */
  readonly shared: PlannedBreakpoint | undefined
  /** tokens of the shared prefix */
  readonly sharedTokens: number
}

const lastCacheableAtOrBefore = (all: ReadonlyArray<Position>, index: number): Position | undefined => {
  for (let i = Math.min(index, all.length - 1); i >= 0; i--) {
    if (all[i]!.cacheable) return all[i]
  }
  return undefined
}

/**
 * Plans the breakpoints of one request.
 *
 * @since 0.1.0
 * @category planning
 */
export const plan = (input: PlanInput): Plan => {
  const { request } = input
  const all = positions(request)
  const minTokens = input.minTokens ?? 0
  const existing = breakpoints(request, all)
  const taken = new Set(existing.map((b) => b.position.index))
  const sharedTokens = input.sharedPositions <= 0 ? 0 : all[Math.min(input.sharedPositions, all.length) - 1]?.cumulativeTokens ?? 0
  const chosen: Array<{ position: Position; ttl: CacheTtl; role: Role }> = existing.map((b) => ({
    position: b.position,
    ttl: b.ttl,
    role: "caller" as const
  }))
  let free = MAX_BREAKPOINTS - existing.length
  const consider = (position: Position | undefined, ttl: CacheTtl, role: Role) => {
    if (free <= 0 || position === undefined) return
    if (position.cumulativeTokens < minTokens) return
    if (taken.has(position.index)) return
    taken.add(position.index)
    chosen.push({ position, ttl, role })
    free--
  }
  const turn = input.sharedPositions > 0 ? lastCacheableAtOrBefore(all, input.sharedPositions - 1) : undefined
  consider(turn, "5m", "turn")
  const systemEnd = all.filter((p) => p.section !== "messages").length
  if (systemEnd > 0 && (turn === undefined || turn.index >= systemEnd - 1)) {
    consider(lastCacheableAtOrBefore(all, systemEnd - 1), input.systemTtl ?? "5m", "system")
  }
  if (input.previousSharedPositions !== undefined && input.previousSharedPositions > 0) {
    const previous = lastCacheableAtOrBefore(all, input.previousSharedPositions - 1)
    if (previous !== undefined && (turn === undefined || previous.index < turn.index)) {
      consider(previous, "5m", "previous-turn")
    }
  }
  chosen.sort((a, b) => a.position.index - b.position.index)
  // 1h before 5m: a planned 5m with a caller's 1h after it becomes 1h; a planned 1h after a caller's
  // 5m becomes 5m.
  let oneHourAfter = false
  for (let i = chosen.length - 1; i >= 0; i--) {
    const c = chosen[i]!
    if (c.role !== "caller" && c.ttl === "5m" && oneHourAfter) c.ttl = "1h"
    if (c.ttl === "1h") oneHourAfter = true
  }
  let fiveMinutesBefore = false
  for (const c of chosen) {
    if (c.role !== "caller" && c.ttl === "1h" && fiveMinutesBefore) c.ttl = "5m"
    if (c.ttl === "5m") fiveMinutesBefore = true
  }
  const planned = chosen.map((c): PlannedBreakpoint => ({
    index: c.position.index,
    fingerprint: c.position.fingerprint,
    ttl: c.ttl,
    cumulativeTokens: c.position.cumulativeTokens,
    role: c.role
  }))
  const marks = new Map(chosen.filter((c) => c.role !== "caller").map((c) => [c.position.index, c.ttl] as const))
  const shared = planned.filter((b) => b.index < Math.max(0, input.sharedPositions)).at(-1)
  const marked = marks.size === 0 ? request : mark(request, all, marks)
  if (marked !== request) samePrompt(marked, all, marks)
  return { request: marked, breakpoints: planned, shared, sharedTokens }
}

/**
 * A request whose breakpoints its caller placed (or automatic caching places), resolved as they are.
 *
 * @since 0.1.0
 * @category planning
 */
export const asPlanned = (request: MessagesRequest): Planned => ({
  request,
  breakpoints: breakpoints(request, positions(request)).map((b): PlannedBreakpoint => ({
    index: b.position.index,
    fingerprint: b.position.fingerprint,
    ttl: b.ttl,
    cumulativeTokens: b.position.cumulativeTokens,
    role: "caller"
  }))
})

/**
 * A request as sent to the warmer: planned already, or as its caller marked it.
 *
 * @since 0.1.0
 * @category planning
 */
export const toPlanned = (request: MessagesRequest | Planned): Planned =>
  isPlanned(request) ? request : asPlanned(request)

/**
 * @since 0.1.0
 * @category guards
 */
export const isPlanned = (u: MessagesRequest | Planned): u is Planned => !("messages" in u) && "breakpoints" in u

/** a marked copy of a block shares the original's fingerprint memo (cache_control is not hashed) */
const cc = (ttl: CacheTtl) => (ttl === "1h" ? { type: "ephemeral" as const, ttl: "1h" as const } : { type: "ephemeral" as const })

/**
 * The block with `cache_control` for `ttl`, sharing the original's memo (fingerprints ignore
 * `cache_control`). Written `{ cache_control, ...block }` when the block has none: V8 (Node 20) takes
 * ~1 µs per property added after a spread (`{ ...block, cache_control }`), and this runs for every
 * breakpoint of every request; the order of keys is not part of the prompt.
 */
const withCacheControl = <A extends object>(block: A, ttl: CacheTtl): A => {
  const marked = "cache_control" in block ? { ...block, cache_control: cc(ttl) } : { cache_control: cc(ttl), ...block }
  sameBlock(marked, block)
  return marked
}

/**
 * Returns the request with `cache_control` set on the given positions.
 *
 * @since 0.1.0
 * @category planning
 */
export const mark = (
  request: MessagesRequest,
  all: ReadonlyArray<Position>,
  marks: ReadonlyMap<number, CacheTtl>
): MessagesRequest => {
  // only the marked positions are visited: at most 4, whatever the conversation's length
  const toolMarks = new Map<number, CacheTtl>()
  const systemMarks = new Map<number, CacheTtl>()
  const messageMarks = new Map<number, Map<number, CacheTtl>>()
  for (const [index, ttl] of marks) {
    const p = all[index]
    if (p === undefined) continue
    if (p.section === "tools") toolMarks.set(p.itemIndex, ttl)
    else if (p.section === "system") systemMarks.set(p.itemIndex, ttl)
    else {
      const inner = messageMarks.get(p.itemIndex) ?? new Map<number, CacheTtl>()
      inner.set(p.blockIndex, ttl)
      messageMarks.set(p.itemIndex, inner)
    }
  }
  const tools = toolMarks.size === 0 ? request.tools : request.tools?.map((tool, i): Tool => {
    const ttl = toolMarks.get(i)
    return ttl === undefined ? tool : withCacheControl(tool, ttl)
  })
  const system = systemMarks.size === 0 ? request.system : systemBlocks(request.system).map((block, i): TextBlock => {
    const ttl = systemMarks.get(i)
    return ttl === undefined ? block : withCacheControl(block, ttl)
  })
  let messages = request.messages
  if (messageMarks.size > 0) {
    // a copy of the array (fast) with only the marked messages replaced
    const copied = request.messages.slice()
    for (const [m, inner] of messageMarks) {
      const message = copied[m]!
      copied[m] = {
        ...message,
        content: contentBlocks(message).map((block, b): ContentBlock => {
          const ttl = inner.get(b)
          return ttl === undefined ? block : withCacheControl(block, ttl)
        })
      }
    }
    messages = copied
  }
  // the request's own keys replaced, none added (see withCacheControl)
  const out = { ...request, messages }
  if (tools !== request.tools && tools !== undefined) out.tools = tools
  if (system !== request.system && system !== undefined) out.system = system
  return out
}
