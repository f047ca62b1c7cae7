/**
 * The pruner's oracle: for a finished session, the cheapest schedule of pruning rounds in hindsight.
 *
 * A schedule is the set of turns at which every candidate edit seen so far is applied (monotone: an
 * edit, once applied, stays). Its cost follows a model of the pipeline's caching — each turn reads the
 * longest prefix it shares with the previous turn's prompt (nothing after an idle gap past the TTL),
 * writes the rest of its shared conversation once, and each further request of the turn reads it —
 * priced at the model's input price and cache multipliers. Each turn's cost depends only on the turn
 * of the last round before it and on whether it holds one, so dynamic programming over (turn, last
 * round) finds the cheapest schedule in O(turns²) turn costs; brute force over every schedule checks
 * it on small sessions (tests). `bench` then runs the chosen schedule through the real pipeline and
 * simulator (`ContextPruner` strategy `schedule`): the hindsight figure is a cost actually paid.
 *
 * @since 0.3.0
 */
import * as ContextPruner from "../ContextPruner.js"
import type { Mark } from "../internal/pruneRules.js"
import { analyze, apply, MarkSet } from "../internal/pruneRules.js"
import { commonTokens, positions, totalTokens } from "../Prefix.js"
import type { CacheMultipliers } from "../Pricing.js"
import type { MessagesRequest } from "../Prompt.js"
import * as Workload from "./Workload.js"

/**
 * One turn of a session as the model sees it.
 *
 * @since 0.3.0
 * @category models
 */
export interface Turn {
  /** the conversation the turn's requests share (unpruned) */
  readonly conversation: MessagesRequest
  /** its requests */
  readonly requests: number
  /** the cache is cold at this turn whatever was written before (an idle gap past the TTL) */
  readonly cold: boolean
  /** the candidate edits that first appear at this turn */
  readonly fresh: ReadonlyArray<Mark>
}

/**
 * The turns of session copy `session` of a workload, with the candidate edits of each.
 *
 * @since 0.3.0
 * @category models
 */
export const turnsOf = (workload: Workload.Workload, session = 0, config: ContextPruner.PrunerConfig = {}): ReadonlyArray<Turn> => {
  const seen = new MarkSet()
  const out: Array<Turn> = []
  let conversation: MessagesRequest | undefined
  for (let t = 0; t < workload.turns.length; t++) {
    conversation = Workload.conversationAt(workload, session, t, conversation)
    const prompts = Workload.promptsAt(workload, session, t)
    // the candidates as the pipeline's pruner sees them: over the turn's conversation
    const marks = ContextPruner.candidates(conversation, config)
    const fresh = marks.filter((m) => !seen.has(m))
    for (const m of fresh) seen.add(m)
    out.push({
      conversation,
      requests: prompts.length,
      cold: (workload.turns[t]!.idleSeconds ?? 0) >= 300,
      fresh
    })
  }
  return out
}

/** the prompt of turn `t` with the edits of rounds up to `round` applied (-1: none) */
const prunedAt = (turns: ReadonlyArray<Turn>, t: number, round: number): MessagesRequest => {
  if (round < 0) return turns[t]!.conversation
  const marks = turns.slice(0, round + 1).flatMap((turn) => turn.fresh)
  const applied = apply(analyze(turns[t]!.conversation.messages), marks)
  return { ...turns[t]!.conversation, messages: applied.messages }
}

/** tokens of the longest common prefix of two prompts (by position fingerprints), and of `b` */
const shared = (a: MessagesRequest | undefined, b: MessagesRequest): { readonly common: number; readonly total: number } => {
  const pb = positions(b)
  return { common: a === undefined ? 0 : commonTokens(positions(a), pb), total: totalTokens(pb) }
}

/**
 * The model's cost of turn `t` (in input-price token units: multiply by the input price), with the
 * previous turn's prompt pruned by the rounds up to `before` and this turn's by those up to `now`.
 *
 * @since 0.3.0
 * @category cost
 */
export const turnCost = (
  turns: ReadonlyArray<Turn>,
  t: number,
  before: number,
  now: number,
  m: CacheMultipliers,
  memo: Map<string, MessagesRequest> = new Map()
): number => {
  const at = (turn: number, round: number) => {
    const key = `${turn}:${round}`
    let r = memo.get(key)
    if (r === undefined) {
      r = prunedAt(turns, turn, round)
      memo.set(key, r)
    }
    return r
  }
  const turn = turns[t]!
  const { common, total } = shared(t === 0 || turn.cold ? undefined : at(t - 1, before), at(t, now))
  return common * m.read + (total - common) * m.write5m + (turn.requests - 1) * total * m.read
}

/**
 * The cheapest schedule: the turns at which a round is applied, and its model cost.
 *
 * @since 0.3.0
 * @category oracle
 */
export const cheapest = (turns: ReadonlyArray<Turn>, m: CacheMultipliers): { readonly rounds: ReadonlyArray<number>; readonly cost: number } => {
  const memo = new Map<string, MessagesRequest>()
  // best[a + 1]: the cheapest cost of the turns so far with the last round at turn a (-1: none yet)
  let best = new Map<number, { readonly cost: number; readonly rounds: ReadonlyArray<number> }>([[-1, { cost: 0, rounds: [] }]])
  for (let t = 0; t < turns.length; t++) {
    const next = new Map<number, { readonly cost: number; readonly rounds: ReadonlyArray<number> }>()
    const offer = (round: number, cost: number, rounds: ReadonlyArray<number>) => {
      const seen = next.get(round)
      if (seen === undefined || cost < seen.cost) next.set(round, { cost, rounds })
    }
    for (const [a, s] of best) {
      offer(a, s.cost + turnCost(turns, t, a, a, m, memo), s.rounds)
      // a round at t only when there is something new to apply since the last one
      if (turns.slice(a + 1, t + 1).some((turn) => turn.fresh.length > 0)) {
        offer(t, s.cost + turnCost(turns, t, a, t, m, memo), [...s.rounds, t])
      }
    }
    best = next
  }
  let winner = { cost: Infinity, rounds: [] as ReadonlyArray<number> }
  for (const s of best.values()) if (s.cost < winner.cost) winner = s
  return winner
}

/**
 * The model cost of one schedule, turn by turn (brute force checks {@link cheapest} with it).
 *
 * @since 0.3.0
 * @category cost
 */
export const costOf = (turns: ReadonlyArray<Turn>, rounds: ReadonlySet<number>, m: CacheMultipliers): number => {
  const memo = new Map<string, MessagesRequest>()
  let last = -1
  let cost = 0
  for (let t = 0; t < turns.length; t++) {
    const before = last
    if (rounds.has(t)) last = t
    cost += turnCost(turns, t, before, last, m, memo)
  }
  return cost
}

/**
 * The hindsight schedule of a workload's first session (its copies prune alike), for the model's
 * prices: the turns at which the bench's `hindsight` run applies a round.
 *
 * @since 0.3.0
 * @category oracle
 */
export const scheduleOf = (workload: Workload.Workload, m: CacheMultipliers): ReadonlyArray<number> =>
  cheapest(turnsOf(workload), m).rounds
