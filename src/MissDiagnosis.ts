/**
 * Why a call wrote, or read less than, what it could have read: computed locally from what this
 * process sent and what each call's usage reported — so for any provider.
 *
 * A {@link Ledger} remembers, for the prefixes the process has sent (by fingerprint, never by text):
 * the cache entries its calls' usage shows were written (readable from when the writing response
 * began, alive for their TTL from their last write or read), the writers still in flight, and which
 * prompt positions lay inside a written entry. Each call's written segments (from what it read to
 * each breakpoint it wrote) are then named by one reason each:
 *
 * - `concurrent_writer`: another call writing the same prefix had been sent and had not begun its
 *   response when this one was sent — the race warming exists to remove;
 * - `ttl_expired`: the entry had been written and had expired;
 * - `evicted`: the entry was written, alive and readable, and still not read (the provider dropped it;
 *   or it was never what the usage suggested);
 * - `lookback`: a longer prefix was cached, but more than the lookback window (20 positions) before
 *   the breakpoint that would have read it;
 * - `tools_changed` / `system_changed` / `messages_changed` / `setting_changed`: a cached prefix went
 *   on past this point with other content (`where` says which tool, system block or message), or with
 *   another `tool_choice` / `thinking` setting, which invalidates the messages;
 * - `first_sight`: the prefix had never been cached;
 * - `below_minimum` (for a call that cached nothing): its prefix is shorter than the model's minimum;
 * - `context_edited`: what looked `evicted` on a call whose response says the API's context editing
 *   cleared part of the prompt — the API cached another prompt than the one sent.
 *
 * Pure classification over a mutable ledger, one per warmer (one per run); bounded in size.
 *
 * @since 0.3.0
 */
import * as FiberRef from "effect/FiberRef"
import { LruMap } from "./internal/lru.js"
import type { Position } from "./Prefix.js"
import * as Prefix from "./Prefix.js"
import { canonicalModel } from "./Pricing.js"
import type { CacheTtl, MessagesRequest } from "./Prompt.js"
import { ttlMillis } from "./Prompt.js"
import type { ApiDiagnosis, Usage } from "./Response.js"

/**
 * @since 0.3.0
 * @category models
 */
export type MissReason =
  | "first_sight"
  | "ttl_expired"
  | "below_minimum"
  | "tools_changed"
  | "system_changed"
  | "messages_changed"
  | "setting_changed"
  | "concurrent_writer"
  | "lookback"
  | "evicted"
  | "context_edited"

/**
 * Every reason, in the order reports list them.
 *
 * @since 0.3.0
 * @category models
 */
export const reasons: ReadonlyArray<MissReason> = [
  "first_sight",
  "concurrent_writer",
  "ttl_expired",
  "tools_changed",
  "system_changed",
  "messages_changed",
  "setting_changed",
  "lookback",
  "below_minimum",
  "evicted",
  "context_edited"
]

/**
 * Tokens a call wrote (or, `below_minimum`, sent uncached) for one reason.
 *
 * @since 0.3.0
 * @category models
 */
export interface Miss {
  readonly reason: MissReason
  readonly tokens: number
  /** for a `*_changed` reason: `tools`, `system`, `message N` (0-based) or `tool_choice/thinking` */
  readonly where?: string | undefined
}

/**
 * A breakpoint of a call, as the ledger needs it.
 *
 * @since 0.3.0
 * @category models
 */
export interface LedgerBreakpoint {
  readonly index: number
  readonly fingerprint: string
  readonly ttl: CacheTtl
  readonly cumulativeTokens: number
}

/**
 * One call as sent.
 *
 * @since 0.3.0
 * @category models
 */
export interface Sent {
  readonly positions: ReadonlyArray<Position>
  /** the call's breakpoints in cache order */
  readonly breakpoints: ReadonlyArray<LedgerBreakpoint>
  /** the model's minimum cacheable prompt (0 when unknown) */
  readonly minTokens: number
  /** the `tool_choice` / `thinking` settings, canonical ({@link settingsOf}) */
  readonly settings: string
  readonly sentAt: number
  /** the conversation it belongs to, when known: its previous prompt says where a prompt changed */
  readonly conversation?: string | undefined
}

/**
 * The settings that invalidate the messages part when they change (Prefix's).
 *
 * @since 0.3.0
 * @category models
 */
export const settingsOf = Prefix.settingsOf

/**
 * A request as the ledger sees it: its positions and its own breakpoints (what the provider sees).
 *
 * @since 0.3.0
 * @category constructors
 */
export const sentOf = (request: MessagesRequest, minTokens: number, sentAt: number, conversation?: string): Sent => {
  const positions = Prefix.positions(request)
  return {
    positions,
    breakpoints: Prefix.breakpoints(request, positions).map((b) => ({
      index: b.position.index,
      fingerprint: b.position.fingerprint,
      ttl: b.ttl,
      cumulativeTokens: b.position.cumulativeTokens
    })),
    minTokens,
    settings: settingsOf(request),
    sentAt,
    conversation
  }
}

/**
 * The conversation the calls of the current fiber belong to, for calls that do not say (the Pipeline
 * passes each turn's conversation to the warmer itself, `FanOut.conversation`; a caller of the warmer
 * sets this with `Effect.locally`).
 *
 * @since 0.3.0
 * @category fiber refs
 */
export const currentConversation: FiberRef.FiberRef<string | undefined> = FiberRef.unsafeMake<string | undefined>(undefined)

interface Entry {
  readableAt: number
  expiresAt: number
  readonly ttlMs: number
  /** when the entry this one replaced had expired */
  readonly expiredBefore?: number | undefined
}

/**
 * A call sent and not yet settled.
 *
 * @since 0.3.0
 * @category models
 */
export interface Ticket {
  readonly sent: Sent
  /** breakpoints at least the model's minimum long */
  readonly effective: ReadonlyArray<LedgerBreakpoint>
  /** effective breakpoints that another writer was writing (sent, not begun) when this one was sent */
  readonly racing: ReadonlySet<string>
  pending: boolean
}

/**
 * @since 0.3.0
 * @category options
 */
export interface LedgerOptions {
  /** how far back a breakpoint looks for an entry (Anthropic: 20 positions) */
  readonly lookback?: number | undefined
  /** bound on the prefixes remembered (default 20,000) */
  readonly maxEntries?: number | undefined
}

/**
 * @since 0.3.0
 * @category models
 */
export interface Ledger {
  /** a call is sent: it becomes a writer in flight of its breakpoints */
  readonly send: (sent: Sent) => Ticket
  /** its response began (or it failed): no longer a writer in flight */
  readonly begun: (ticket: Ticket) => void
  /** its usage is known: the reasons of what it wrote, and the ledger updated with its writes and read */
  readonly settle: (ticket: Ticket, usage: Usage, readableAt: number) => ReadonlyArray<Miss>
  /** the conversation has ended: its previous prompt is no longer kept */
  readonly forget: (conversation: string) => void
  /** how many conversations' previous prompts are kept (for leak checks) */
  readonly conversations: () => number
}

/** a reason for the positions up to `until` (a position index) */
interface Part {
  readonly reason: MissReason
  readonly where?: string | undefined
  readonly until: number
}

const lastMessage = (positions: ReadonlyArray<Position>): number => {
  const last = positions[positions.length - 1]
  return last !== undefined && last.section === "messages" ? last.itemIndex : -1
}

const sectionReason = (p: Position): { readonly reason: MissReason; readonly where: string } =>
  p.section === "tools"
    ? { reason: "tools_changed", where: `tool ${p.itemIndex}` }
    : p.section === "system"
    ? { reason: "system_changed", where: `system ${p.itemIndex}` }
    : { reason: "messages_changed", where: `message ${p.itemIndex}` }

/**
 * A fresh ledger.
 *
 * @since 0.3.0
 * @category constructors
 */
export const makeLedger = (options: LedgerOptions = {}): Ledger => {
  const lookback = options.lookback ?? 20
  const max = options.maxEntries ?? 20_000
  const entries = new LruMap<string, Entry>(max)
  const inFlight = new Map<string, number>()
  /** positions inside a written entry: the value says whether the entry went on past it */
  const covered = new LruMap<string, boolean>(max)
  /** the last position before the messages of a cached prompt → the settings it was cached with */
  const settingsAt = new LruMap<string, string>(max)
  /** each conversation's previous prompt */
  const previousOf = new LruMap<string, { readonly positions: ReadonlyArray<Position>; readonly settings: string }>(
    Math.min(max, 10_000)
  )

  const send = (sent: Sent): Ticket => {
    const effective = sent.breakpoints.filter((b) => b.cumulativeTokens >= sent.minTokens && b.cumulativeTokens > 0)
    const racing = new Set<string>()
    for (const b of effective) {
      const n = inFlight.get(b.fingerprint) ?? 0
      if (n > 0) racing.add(b.fingerprint)
      inFlight.set(b.fingerprint, n + 1)
    }
    return { sent, effective, racing, pending: true }
  }

  const begun = (ticket: Ticket) => {
    if (!ticket.pending) return
    ticket.pending = false
    for (const b of ticket.effective) {
      const n = (inFlight.get(b.fingerprint) ?? 1) - 1
      if (n <= 0) inFlight.delete(b.fingerprint)
      else inFlight.set(b.fingerprint, n)
    }
  }

  const alive = (e: Entry | undefined, at: number) => e !== undefined && e.readableAt <= at && e.expiresAt > at

  /**
   * Why the positions `(fromIndex, bp]` were written: one reason, or two when a longer prefix was
   * cached out of the lookback's reach (`lookback` up to it, the reason of the rest after it).
   */
  const why = (t: Ticket, fromIndex: number, bp: LedgerBreakpoint): ReadonlyArray<Part> => {
    const { positions, sentAt } = t.sent
    if (t.racing.has(bp.fingerprint)) return [{ reason: "concurrent_writer", until: bp.index }]
    // the entry as it was when this call was sent (a call settled since may have written it again)
    const entry = entries.peek(bp.fingerprint)
    const expiredAt = entry === undefined
      ? undefined
      : entry.readableAt <= sentAt
      ? (entry.expiresAt <= sentAt ? entry.expiresAt : undefined)
      : entry.expiredBefore
    if (expiredAt !== undefined && expiredAt <= sentAt) return [{ reason: "ttl_expired", until: bp.index }]
    if (entry !== undefined && entry.readableAt <= sentAt) return [{ reason: "evicted", until: bp.index }]
    // the longest prefix cached and alive, out of every effective breakpoint's reach
    for (let i = bp.index - lookback; i > fromIndex; i--) {
      if (!alive(entries.peek(positions[i]!.fingerprint), sentAt)) continue
      if (t.effective.some((b) => b.index >= i && b.index - lookback < i)) break
      return [{ reason: "lookback", until: i }, { ...changed(t, i, bp.index), until: bp.index }]
    }
    return [{ ...changed(t, fromIndex, bp.index), until: bp.index }]
  }

  /** the first position after `fromIndex` no cached prefix reached: right after one that went on, a change */
  const changed = (t: Ticket, fromIndex: number, toIndex: number): Omit<Miss, "tokens"> => {
    const { positions } = t.sent
    for (let i = fromIndex + 1; i <= toIndex; i++) {
      const p = positions[i]!
      if (covered.peek(p.fingerprint) !== undefined) continue
      if (i === 0 || covered.peek(positions[i - 1]!.fingerprint) !== true) return fromPrevious(t, toIndex)
      const before = positions[i - 1]!
      if (p.section === "messages" && before.section !== "messages") {
        const cachedWith = settingsAt.peek(before.fingerprint)
        if (cachedWith !== undefined && cachedWith !== t.sent.settings) {
          return { reason: "setting_changed", where: "tool_choice/thinking" }
        }
      }
      // the prompt's last message is the new turn: siblings of a fan-out differ there, nothing changed
      if (p.section === "messages" && p.itemIndex === lastMessage(positions)) return { reason: "first_sight" }
      return sectionReason(p)
    }
    return { reason: "first_sight" }
  }

  /** where the conversation's previous prompt, which went on further, first differs from this one */
  const fromPrevious = (t: Ticket, toIndex: number): Omit<Miss, "tokens"> => {
    const previous = t.sent.conversation === undefined ? undefined : previousOf.peek(t.sent.conversation)
    if (previous === undefined) return { reason: "first_sight" }
    const { positions } = t.sent
    const n = Math.min(previous.positions.length, toIndex + 1)
    for (let j = 0; j < n; j++) {
      const p = positions[j]!
      if (p.fingerprint === previous.positions[j]!.fingerprint) continue
      if (p.section === "messages" && previous.settings !== t.sent.settings && (j === 0 || positions[j - 1]!.section !== "messages")) {
        return { reason: "setting_changed", where: "tool_choice/thinking" }
      }
      // the previous prompt's last message was its turn's new prompt: the next turn replaces it
      const was = previous.positions[j]!
      if (was.section === "messages" && was.itemIndex === lastMessage(previous.positions)) return { reason: "first_sight" }
      if (p.section === "messages" && p.itemIndex === lastMessage(positions)) return { reason: "first_sight" }
      return sectionReason(p)
    }
    return { reason: "first_sight" }
  }

  const record = (t: Ticket, written: ReadonlyArray<LedgerBreakpoint>, hitIndex: number, readableAt: number) => {
    const { positions, sentAt } = t.sent
    if (hitIndex >= 0) {
      const hit = entries.get(positions[hitIndex]!.fingerprint)
      if (hit !== undefined) hit.expiresAt = Math.max(hit.expiresAt, sentAt + hit.ttlMs)
    }
    if (written.length === 0) return
    const last = written[written.length - 1]!
    for (const b of written) {
      const ttlMs = ttlMillis(b.ttl)
      const old = entries.peek(b.fingerprint)
      if (old === undefined || old.expiresAt <= readableAt) {
        entries.set(b.fingerprint, { readableAt, expiresAt: readableAt + ttlMs, ttlMs, expiredBefore: old?.expiresAt })
      } else {
        old.readableAt = Math.min(old.readableAt, readableAt)
        old.expiresAt = Math.max(old.expiresAt, readableAt + ttlMs)
      }
    }
    const newest = lastMessage(positions)
    for (let i = Math.max(0, hitIndex); i <= last.index; i++) {
      const p = positions[i]!
      // went on past it, with more than the prompt's last message (a turn's new prompt, which the
      // next turn replaces and a fan-out's siblings differ in: no change when another follows)
      const next = positions[i + 1]
      const wentOn = i < last.index && !(next!.section === "messages" && next!.itemIndex === newest)
      if (wentOn || covered.peek(p.fingerprint) === undefined) covered.set(p.fingerprint, wentOn)
      if (wentOn && p.section !== "messages" && positions[i + 1]!.section === "messages") {
        settingsAt.set(p.fingerprint, t.sent.settings)
      }
    }
  }

  const settle = (t: Ticket, usage: Usage, readableAt: number): ReadonlyArray<Miss> => {
    begun(t)
    const { breakpoints, positions } = t.sent
    if (t.effective.length === 0) {
      const last = breakpoints[breakpoints.length - 1]
      return last === undefined || last.cumulativeTokens <= 0
        ? []
        : [{ reason: "below_minimum", tokens: Math.min(last.cumulativeTokens, usage.input) }]
    }
    const written = usage.cacheCreation5m + usage.cacheCreation1h
    const totalActual = usage.input + usage.cacheRead + written
    const totalEstimate = positions.length === 0 ? 0 : positions[positions.length - 1]!.cumulativeTokens
    // the read, in the estimate's tokens (a provider counts its own)
    const readEstimate = totalActual === 0 ? 0 : (usage.cacheRead * totalEstimate) / totalActual
    const tolerance = Math.max(1, totalEstimate * 0.005)
    let hitIndex = -1
    if (usage.cacheRead > 0) {
      // the breakpoint (or position) whose prefix is what was read
      let best = Infinity
      for (const b of t.effective) {
        const d = Math.abs(b.cumulativeTokens - readEstimate)
        if (d < best) {
          best = d
          hitIndex = b.index
        }
      }
      if (best > tolerance) {
        for (const p of positions) {
          const d = Math.abs(p.cumulativeTokens - readEstimate)
          if (d < best) {
            best = d
            hitIndex = p.index
          }
        }
      }
    }
    const segments = written === 0 ? [] : t.effective.filter((b) => b.index > hitIndex)
    const misses: Array<Miss> = []
    if (segments.length > 0) {
      // each part's tokens by the estimate, scaled to what the provider says was written
      const parts: Array<Part> = []
      let boundary = hitIndex
      for (const b of segments) {
        // what follows a change in the same prompt was rewritten because of it
        const change = parts.find((p) => p.reason.endsWith("_changed"))
        for (const part of why(t, boundary, b)) {
          parts.push(change !== undefined && part.reason === "first_sight" ? { ...change, until: part.until } : part)
        }
        boundary = b.index
      }
      const from = hitIndex < 0 ? 0 : positions[hitIndex]!.cumulativeTokens
      const estimated = Math.max(1, positions[boundary]!.cumulativeTokens - from)
      let start = from
      let assigned = 0
      parts.forEach((part, k) => {
        const end = positions[part.until]!.cumulativeTokens
        // rounded, never past what is left: the shares add up to what was written
        const share = k === parts.length - 1
          ? written - assigned
          : Math.min(written - assigned, Math.round((written * (end - start)) / estimated))
        assigned += share
        start = end
        if (share > 0) misses.push(part.where === undefined ? { reason: part.reason, tokens: share } : { reason: part.reason, where: part.where, tokens: share })
      })
    }
    record(t, segments, hitIndex, readableAt)
    if (t.sent.conversation !== undefined) {
      previousOf.set(t.sent.conversation, { positions, settings: t.sent.settings })
    }
    return mergeMisses(misses)
  }

  return {
    send,
    begun,
    settle,
    forget: (conversation) => void previousOf.delete(conversation),
    conversations: () => previousOf.size
  }
}

/** one entry per (reason, where), tokens added */
const mergeMisses = (misses: ReadonlyArray<Miss>): ReadonlyArray<Miss> => {
  if (misses.length < 2) return misses
  const out = new Map<string, Miss>()
  for (const m of misses) {
    const key = `${m.reason}\u0000${m.where ?? ""}`
    const seen = out.get(key)
    out.set(key, seen === undefined ? m : { ...seen, tokens: seen.tokens + m.tokens })
  }
  return [...out.values()]
}

/**
 * The reason with the most tokens, for a span's one attribute.
 *
 * @since 0.3.0
 * @category utils
 */
export const dominant = (misses: ReadonlyArray<Miss>): Miss | undefined =>
  misses.reduce<Miss | undefined>((best, m) => (best === undefined || m.tokens > best.tokens ? m : best), undefined)

/**
 * What the API's cache diagnosis keeps of a request, as documented: where each part ends (by
 * fingerprint) and the tokens up to there — never the text.
 *
 * @since 0.3.0
 * @category api diagnosis
 */
export interface RequestPrint {
  readonly model: string
  readonly tools: string
  readonly toolsTokens: number
  readonly system: string
  readonly systemTokens: number
  readonly settings: string
  /** each message's end (fingerprint, cumulative tokens) */
  readonly messages: ReadonlyArray<readonly [string, number]>
  readonly total: number
}

/**
 * @since 0.3.0
 * @category api diagnosis
 */
export const printOf = (request: MessagesRequest, all: ReadonlyArray<Position> = Prefix.positions(request)): RequestPrint => {
  let tools = Prefix.seed(request.model)
  let toolsTokens = 0
  let system: string | undefined
  let systemTokens = 0
  const messages: Array<readonly [string, number]> = []
  for (const p of all) {
    if (p.section === "tools") {
      tools = p.fingerprint
      toolsTokens = p.cumulativeTokens
    } else if (p.section === "system") {
      system = p.fingerprint
      systemTokens = p.cumulativeTokens
    } else {
      messages[p.itemIndex] = [p.fingerprint, p.cumulativeTokens]
    }
  }
  return {
    model: canonicalModel(request.model),
    tools,
    toolsTokens,
    system: system ?? tools,
    systemTokens: system === undefined ? toolsTokens : systemTokens,
    settings: settingsOf(request),
    messages: messages.filter((m) => m !== undefined),
    total: all.length === 0 ? 0 : all[all.length - 1]!.cumulativeTokens
  }
}

/**
 * The API's documented cache diagnosis of `current` against `previous` (undefined: the previous
 * response is unknown): the first point where they diverge — the model, the tools, the system
 * prompt, or the messages (an earlier entry differs, rather than entries appended); the same model,
 * tools and system with other `tool_choice` / `thinking` settings is `unavailable`. Undefined when
 * nothing diverged, as the API leaves `diagnostics` null then. The simulator answers with it; the
 * library compares what the API says with it, so a disagreement is a prompt that reached the API
 * otherwise than the library sent it, or an API whose rules moved (docs/observability.md).
 *
 * @since 0.3.0
 * @category api diagnosis
 */
export const compareWithPrevious = (previous: RequestPrint | undefined, current: RequestPrint): ApiDiagnosis | undefined => {
  if (previous === undefined) return { reason: "previous_message_not_found" }
  const missedAfter = (tokens: number) => Math.max(0, previous.total - tokens)
  if (previous.model !== current.model) return { reason: "model_changed", missedInputTokens: previous.total }
  if (previous.tools !== current.tools) return { reason: "tools_changed", missedInputTokens: previous.total }
  if (previous.system !== current.system) {
    return { reason: "system_changed", missedInputTokens: missedAfter(previous.toolsTokens) }
  }
  if (previous.settings !== current.settings) return { reason: "unavailable" }
  for (let k = 0; k < previous.messages.length; k++) {
    const mine = current.messages[k]
    if (mine === undefined || mine[0] !== previous.messages[k]![0]) {
      return {
        reason: "messages_changed",
        missedInputTokens: missedAfter(k === 0 ? previous.systemTokens : previous.messages[k - 1]![1])
      }
    }
  }
  return undefined
}

/**
 * A call's reasons once its response is known: when the API's context editing cleared part of the
 * prompt, the entries this process thought alive were entries of another prompt — `evicted` becomes
 * `context_edited`.
 *
 * @since 0.3.0
 * @category utils
 */
export const withContextEdits = (misses: ReadonlyArray<Miss>, clearedTokens: number): ReadonlyArray<Miss> =>
  clearedTokens <= 0 || !misses.some((m) => m.reason === "evicted")
    ? misses
    : misses.map((m) => (m.reason === "evicted" ? { ...m, reason: "context_edited" } : m))
