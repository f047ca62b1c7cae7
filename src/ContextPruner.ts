/**
 * Cache-aware dynamic context pruning.
 *
 * Rules (pure, composable) mark stale tool output — repeated identical calls, superseded writes,
 * failed calls' inputs, superseded reads, old results — and one step replaces the marked content with
 * deterministic placeholders. Blocks and ids always stay, so tool_use/tool_result pairing holds; the
 * system prompt, the tool definitions and thinking blocks are never touched; the last turns and
 * protected tools are never pruned.
 *
 * Every edit rewrites the cache from the edit onward, so new edits are applied in batches and only
 * when they pay: at least `clearAtLeast` tokens, and
 * `tokens freed × read price × expected remaining requests > margin × tokens after the earliest edit × (write − read)`
 * (`margin` 2 by default: a round waits until it pays its rewrite twice, so later edits batch with it).
 * When a share of the prefix is missed anyway (`missRate`: OpenAI's routing overflow, evictions), a
 * freed token saves a write that often and a round rewrites only the rest. When the cache is cold
 * anyway (TTL expired) the break-even test is waived. Decisions are monotone:
 * once pruned, an item stays pruned with the same placeholder on every later turn, so the pruned
 * prefix is stable and cacheable. A hysteresis on the context size (engage at `triggerTokens`,
 * release below `releaseTokens`) keeps the pruner from flapping.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Conversation, Mark, RuleConfig, RuleName } from "./internal/pruneRules.js"
import {
  ageBased,
  analyze,
  apply,
  deduplication,
  errorPurging,
  MarkSet,
  supersededResults,
  supersededWrites,
  tokensFrom
} from "./internal/pruneRules.js"
import { LruMap } from "./internal/lru.js"
import type { CacheMultipliers } from "./Pricing.js"
import { Multipliers, writeMultiplier } from "./Pricing.js"
import type { CacheTtl, MessagesRequest } from "./Prompt.js"

export type { RuleName } from "./internal/pruneRules.js"
export { PLACEHOLDERS } from "./internal/pruneRules.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface PrunerConfig {
  /**
   * `price` (default): new edits in batches, applied when they pay for the cache they rewrite;
   * `eager`: every rule's targets pruned the turn they appear — no price test, no batching, no
   * trigger (the baseline `bench` compares with)
   */
  readonly strategy?: "price" | "eager" | "schedule" | undefined
  /**
   * `schedule`: the turns (0-based, counted per conversation) at which every candidate seen so far is
   * applied, and no others — a schedule found offline (the bench's hindsight oracle)
   */
  readonly rounds?: ReadonlyArray<number> | undefined
  /** which rules run (default: all but `age`) */
  readonly rules?: Partial<Record<RuleName, boolean>> | undefined
  /** error purging: calls that failed at least this many turns (model steps) ago (default 4) */
  readonly errorAfterTurns?: number | undefined
  /** age rule: keep the results of the last K tool uses (default 8) */
  readonly keepToolUses?: number | undefined
  /** age rule: or keep the newest results within this many tokens */
  readonly keepResultTokens?: number | undefined
  /** never prune the last N turns — model steps, one per assistant message (default 3) */
  readonly protectTurns?: number | undefined
  /** tools whose calls are never pruned */
  readonly protectedTools?: ReadonlyArray<string> | undefined
  /** tools that write a file (for superseded writes) */
  readonly writeTools?: ReadonlyArray<string> | undefined
  /** tools that read or run (for superseded results) */
  readonly readTools?: ReadonlyArray<string> | undefined
  /** a round of new edits is applied only if it frees at least this many tokens (default 2,048) */
  readonly clearAtLeast?: number | undefined
  /**
   * how many times over a round's savings must pay for the cache it rewrites (default 2). At 1 a
   * round goes as soon as it breaks even; but each round rewrites the cache, and the edits that come
   * later could have gone with it: waiting until the savings cover the rewrite twice — the classic
   * answer to rent-or-buy — batches them. Measured against the hindsight oracle (docs/pruning.md).
   */
  readonly margin?: number | undefined
  /** engage once the conversation reaches this many tokens (default 0: always engaged) */
  readonly triggerTokens?: number | undefined
  /** release below this many tokens (default 80% of the trigger) */
  readonly releaseTokens?: number | undefined
  /** requests expected over the rest of the conversation, when the caller does not say (default 8) */
  readonly expectedRemainingRequests?: number | undefined
  /** conversations whose state is kept (least recently used out first; default 1,000) */
  readonly maxConversations?: number | undefined
}

/**
 * What the pruner decided for this turn, with its numbers.
 *
 * @since 0.1.0
 * @category models
 */
export type Decision =
  | {
    readonly _tag: "Applied"
    readonly reason: "pays" | "cold" | "eager" | "scheduled"
    readonly tokensFreed: number
    readonly rewriteTokens: number
    readonly expectedRequests: number
  }
  | {
    readonly _tag: "Deferred"
    readonly reason: "below_clear_at_least" | "does_not_pay" | "not_scheduled"
    readonly tokensFreed: number
    readonly rewriteTokens: number
    readonly expectedRequests: number
  }
  | { readonly _tag: "Skipped"; readonly reason: "nothing_new" | "below_trigger" | "disabled" }

/**
 * @since 0.1.0
 * @category models
 */
export interface PruneInput {
  /** the conversation's identity: decisions are kept per conversation */
  readonly conversationId: string
  readonly request: MessagesRequest
  /** the cached prefix is cold anyway (TTL expired): prune without the break-even test */
  readonly cold?: boolean | undefined
  readonly expectedRemainingRequests?: number | undefined
  /** the model's cache multipliers (default `Pricing.Multipliers`) */
  readonly multipliers?: CacheMultipliers | undefined
  /** the TTL at which the messages after an edit are written again (default 5m) */
  readonly rewriteTtl?: CacheTtl | undefined
  /**
   * the share (0–1) of the cached prefix the provider was expected to read on this conversation but
   * did not (OpenAI's routing overflow, evictions): those requests write it again whether or not an
   * edit comes, so an edit rewrites only the rest, and a freed token saves a write as often (default 0)
   */
  readonly missRate?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PruneOutput {
  /** the request with every pruning decided so far applied; system and tools untouched */
  readonly request: MessagesRequest
  readonly decision: Decision
  /** tokens removed by the edits newly applied this time, per rule */
  readonly newlyPruned: Readonly<Record<string, number>>
  /** tokens removed by all edits in force, per rule */
  readonly pruned: Readonly<Record<string, number>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ContextPrunerService {
  readonly prune: (input: PruneInput) => Effect.Effect<PruneOutput>
  /** drops a conversation's state */
  readonly forget: (conversationId: string) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ContextPruner extends Context.Tag("effect-prompt-cache/ContextPruner")<ContextPruner, ContextPrunerService>() {}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  errorAfterTurns: 4,
  keepToolUses: 8,
  protectTurns: 3,
  protectedTools: ["task", "todo", "todowrite", "todo_write", "skill", "plan"],
  writeTools: ["write", "write_file", "edit", "edit_file", "create_file", "str_replace", "apply_patch"],
  readTools: ["read", "read_file", "view", "cat", "bash", "shell", "run", "grep", "glob", "ls", "list"],
  clearAtLeast: 2048,
  margin: 2,
  expectedRemainingRequests: 8,
  maxConversations: 1000
} as const

interface State {
  readonly applied: MarkSet
  engaged: boolean
  /** prunes so far (turns) */
  turn: number
}

/**
 * The pure core: the marks the enabled rules produce for a request, protections applied.
 *
 * @since 0.1.0
 * @category rules
 */
export const candidates = (request: MessagesRequest, config: PrunerConfig = {}): ReadonlyArray<Mark> =>
  candidatesOf(analyze(request.messages), resolve(config))

interface Resolved {
  readonly rules: Record<RuleName, boolean>
  readonly ruleConfig: RuleConfig
  readonly protectTurns: number
  readonly protectedTools: ReadonlySet<string>
}

/** the configuration with its defaults and sets built, once per pruner */
const resolve = (config: PrunerConfig): Resolved => ({
  rules: { deduplication: true, superseded_writes: true, error_purging: true, superseded_results: true, age: false, ...config.rules },
  ruleConfig: {
    errorAfterTurns: config.errorAfterTurns ?? defaults.errorAfterTurns,
    keepToolUses: config.keepToolUses ?? (config.keepResultTokens === undefined ? defaults.keepToolUses : undefined),
    keepResultTokens: config.keepResultTokens,
    writeTools: new Set(config.writeTools ?? defaults.writeTools),
    readTools: new Set(config.readTools ?? defaults.readTools)
  },
  protectTurns: config.protectTurns ?? defaults.protectTurns,
  protectedTools: new Set(config.protectedTools ?? defaults.protectedTools)
})

const candidatesOf = (conv: Conversation, { protectTurns, protectedTools, ruleConfig, rules }: Resolved): ReadonlyArray<Mark> => {
  const protectedIds = new Set(
    conv.calls.filter((c) => protectedTools.has(c.name) || c.turn > conv.turns - protectTurns).map((c) => c.id)
  )
  const all: Array<Mark> = [
    ...(rules.deduplication ? deduplication(conv) : []),
    ...(rules.superseded_writes ? supersededWrites(conv, ruleConfig) : []),
    ...(rules.error_purging ? errorPurging(conv, ruleConfig) : []),
    ...(rules.superseded_results ? supersededResults(conv, ruleConfig) : []),
    ...(rules.age ? ageBased(conv, ruleConfig) : [])
  ]
  const seen = new MarkSet()
  return all.filter((m) => {
    if (protectedIds.has(m.toolUseId) || seen.has(m)) return false
    seen.add(m)
    return true
  })
}

const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0)

/**
 * A pruner.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: PrunerConfig = {}): Effect.Effect<ContextPrunerService> =>
  Effect.sync(() => {
    const states = new LruMap<string, State>(config.maxConversations ?? defaults.maxConversations)
    const resolved = resolve(config)
    const eager = config.strategy === "eager"
    const scheduled = config.strategy === "schedule" ? new Set(config.rounds ?? []) : undefined
    const clearAtLeast = config.clearAtLeast ?? defaults.clearAtLeast
    const margin = config.margin ?? defaults.margin
    const trigger = eager || config.strategy === "schedule" ? 0 : config.triggerTokens ?? 0
    const release = config.releaseTokens ?? trigger * 0.8

    const stateOf = (id: string): State =>
      states.getOrCreate(id, () => ({ applied: new MarkSet(), engaged: trigger <= 0, turn: 0 }))

    const prune = (input: PruneInput): Effect.Effect<PruneOutput> =>
      Effect.sync(() => {
        const state = stateOf(input.conversationId)
        const turn = state.turn++
        const request = input.request
        // 1. what was decided before stays decided (monotone)
        const conv = analyze(request.messages)
        const baseline = apply(conv, state.applied.values())
        const base: MessagesRequest = baseline.messages === request.messages ? request : { ...request, messages: baseline.messages }
        const unchanged = (decision: Decision): PruneOutput => ({
          request: base,
          decision,
          newlyPruned: {},
          pruned: baseline.savedByRule
        })
        // 2. hysteresis on the context size
        const size = tokensFrom(base.messages, 0)
        if (!state.engaged && size >= trigger) state.engaged = true
        else if (state.engaged && trigger > 0 && size < release) state.engaged = false
        if (!state.engaged) return unchanged({ _tag: "Skipped", reason: "below_trigger" })
        // 3. new marks
        const fresh = candidatesOf(conv, resolved).filter((m) => !state.applied.has(m))
        if (fresh.length === 0) return unchanged({ _tag: "Skipped", reason: "nothing_new" })
        const next = apply(analyze(base.messages), fresh)
        const tokensFreed = sum(next.savedByRule)
        if (next.earliestMessage === undefined || tokensFreed === 0) {
          return unchanged({ _tag: "Skipped", reason: "nothing_new" })
        }
        // 4. does the round pay for the cache it rewrites?
        const rewriteTokens = tokensFrom(next.messages, next.earliestMessage)
        const expectedRequests = input.expectedRemainingRequests ?? config.expectedRemainingRequests ??
          defaults.expectedRemainingRequests
        const numbers = { tokensFreed, rewriteTokens, expectedRequests }
        let decision: Decision
        if (scheduled !== undefined) {
          decision = scheduled.has(turn)
            ? { _tag: "Applied", reason: "scheduled", ...numbers }
            : { _tag: "Deferred", reason: "not_scheduled", ...numbers }
        } else if (eager) {
          decision = { _tag: "Applied", reason: "eager", ...numbers }
        } else if (input.cold === true) {
          decision = { _tag: "Applied", reason: "cold", ...numbers }
        } else if (tokensFreed < clearAtLeast) {
          decision = { _tag: "Deferred", reason: "below_clear_at_least", ...numbers }
        } else if (
          !pays(numbers, input.multipliers ?? Multipliers, input.rewriteTtl ?? "5m", margin, input.missRate ?? 0)
        ) {
          decision = { _tag: "Deferred", reason: "does_not_pay", ...numbers }
        } else {
          decision = { _tag: "Applied", reason: "pays", ...numbers }
        }
        if (decision._tag !== "Applied") return unchanged(decision)
        for (const m of fresh) state.applied.add(m)
        const pruned: Record<string, number> = { ...baseline.savedByRule }
        for (const [rule, n] of Object.entries(next.savedByRule)) pruned[rule] = (pruned[rule] ?? 0) + n
        return { request: { ...request, messages: next.messages }, decision, newlyPruned: next.savedByRule, pruned }
      })

    return {
      prune,
      forget: (id) => Effect.sync(() => void states.delete(id))
    }
  })

/**
 * The break-even test of a round of edits: what it saves over the expected requests against `margin`
 * times the cache it rewrites — written again at `rewriteTtl`'s write price instead of read. With a
 * share `missRate` of the prefix missed anyway, a freed token saves a read on the rest and a write on
 * that share, and the edit rewrites only what would have been read.
 *
 * @since 0.1.0
 * @category decisions
 */
export const pays = (
  round: { readonly tokensFreed: number; readonly rewriteTokens: number; readonly expectedRequests: number },
  multipliers: CacheMultipliers,
  rewriteTtl: CacheTtl,
  margin = 1,
  missRate = 0
): boolean => {
  const write = writeMultiplier(multipliers, rewriteTtl)
  const miss = Math.min(1, Math.max(0, missRate))
  const perRequest = (1 - miss) * multipliers.read + miss * write
  return round.tokensFreed * perRequest * round.expectedRequests >
    margin * round.rewriteTokens * (write - multipliers.read) * (1 - miss)
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: PrunerConfig = {}): Layer.Layer<ContextPruner> => Layer.effect(ContextPruner, make(config))

/**
 * A pruner that never prunes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNoop: Layer.Layer<ContextPruner> = Layer.succeed(ContextPruner, {
  prune: (input) =>
    Effect.succeed({ request: input.request, decision: { _tag: "Skipped", reason: "disabled" }, newlyPruned: {}, pruned: {} }),
  forget: () => Effect.void
})
