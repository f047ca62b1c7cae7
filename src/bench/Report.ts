/**
 * The program's report: a stable JSON document (docs/report.md), its text rendering, the side-by-side
 * benchmark table and the SVG chart of cost per turn.
 *
 * @since 0.1.0
 */
import type { KindSnapshot } from "../CacheMetrics.js"

/**
 * Figures of one call kind in the report.
 *
 * @since 0.1.0
 * @category models
 */
export type CallFigures = Pick<
  KindSnapshot,
  | "count"
  | "cacheHits"
  | "cacheMisses"
  | "inputTokens"
  | "cacheCreationInputTokens"
  | "cacheCreation5mInputTokens"
  | "cacheCreation1hInputTokens"
  | "cacheReadInputTokens"
  | "outputTokens"
  | "costUsd"
>

/**
 * @since 0.3.0
 * @category models
 */
export interface CostSummary {
  readonly meanUsd: number | null
  readonly p50Usd: number | null
  readonly p95Usd: number | null
  readonly maxUsd: number | null
}

/**
 * Sessions' costs: how many, the distribution of what each cost, and the same with no caching.
 * `null` when some session's cost is unknown (a model without a price).
 *
 * @since 0.3.0
 * @category models
 */
export interface SessionCosts extends CostSummary {
  readonly count: number
  readonly noCache: CostSummary
}

/**
 * Summarizes sessions' costs (each `null` when unknown).
 *
 * @since 0.3.0
 * @category models
 */
export const summarizeCosts = (costs: ReadonlyArray<number | null>): CostSummary => {
  if (costs.length === 0 || costs.some((c) => c === null)) return { meanUsd: null, p50Usd: null, p95Usd: null, maxUsd: null }
  const sorted = (costs as ReadonlyArray<number>).slice().sort((a, b) => a - b)
  const at = (q: number) => roundUsd(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!)
  return {
    meanUsd: roundUsd(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    p50Usd: at(0.5),
    p95Usd: at(0.95),
    maxUsd: roundUsd(sorted[sorted.length - 1]!)
  }
}

const roundUsd = (usd: number) => Math.round(usd * 1e9) / 1e9

/**
 * One hour of a run's time (simulated time on the simulator), counted from the run's start: what
 * started in it and what its turns cost. A turn counts in the hour it started.
 *
 * @since 0.4.0
 * @category models
 */
export interface HourFigures {
  readonly hour: number
  readonly sessionsStarted: number
  readonly requests: number
  readonly warmCalls: number
  /** prompt tokens of its calls (requests and warm calls), and those read from the cache */
  readonly promptTokens: number
  readonly cacheReadTokens: number
  /** cacheReadTokens / promptTokens (0 when no call) */
  readonly hitRateTokens: number
  /** null when a call could not be priced */
  readonly costUsd: number | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly workload: string
  readonly provider: string
  readonly model: string
  readonly warming: string
  /** `on` (the price-aware pruner), `off`, `eager`, or `server` (the API's context editing) */
  readonly pruning: "on" | "off" | "eager" | "server" | "hindsight"
  readonly turns: number
  readonly sessions: number
  readonly calls: { readonly warm: CallFigures; readonly request: CallFigures }
  readonly totalCostUsd: number | null
  readonly noCacheCostUsd: number | null
  readonly oracleCostUsd: number | null
  /** the cost of each session (conversation), summarized; docs/report.md */
  readonly perSession: SessionCosts
  /** written tokens a read could have served, by why it could not (docs/observability.md), per call kind */
  readonly missReasons: {
    readonly warm: Readonly<Record<string, number>>
    readonly request: Readonly<Record<string, number>>
  }
  readonly prunedTokens: number
  readonly retries: number
  readonly failedRequests: number
  /** the run hour by hour (one row for a run shorter than an hour); docs/report.md */
  readonly perHour: ReadonlyArray<HourFigures>
  /** figures beyond the stable core; documented in docs/report.md */
  readonly details: {
    /** the workload's arrivals, and the sessions that started late because the concurrency bound was full */
    readonly arrivals: { readonly perSecond: number; readonly delayedStarts: number } | null
    /** sessions run at once at most */
    readonly sessionConcurrency: number
    readonly keepAlive: boolean
    readonly simulatedTime: boolean
    /** idle gaps were multiplied by this (1: as the workload says; TTL behaviour changes with it) */
    readonly timeScale: number
    readonly elapsedMs: number
    readonly savingsUsd: number | null
    readonly turnLatencyMs: { readonly p50: number | null; readonly p95: number | null }
    readonly hitRate: {
      readonly warm: { readonly calls: number; readonly tokens: number }
      readonly request: { readonly calls: number; readonly tokens: number }
    }
    readonly skippedWarms: Readonly<Record<string, number>>
    readonly prunedByRule: Readonly<Record<string, number>>
    readonly retriesByError: Readonly<Record<string, number>>
    readonly failuresByError: Readonly<Record<string, number>>
    /** the message of the first request that failed after its retries */
    readonly firstError: string | null
    /** calls the API diagnosed (when asked) that wrote, and those where its reason and the library's differ */
    readonly apiDiagnoses: { readonly compared: number; readonly disagreed: number }
    readonly warnings: ReadonlyArray<string>
  }
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const callFigures = (k: KindSnapshot): CallFigures => ({
  count: k.count,
  cacheHits: k.cacheHits,
  cacheMisses: k.cacheMisses,
  inputTokens: k.inputTokens,
  cacheCreationInputTokens: k.cacheCreationInputTokens,
  cacheCreation5mInputTokens: k.cacheCreation5mInputTokens,
  cacheCreation1hInputTokens: k.cacheCreation1hInputTokens,
  cacheReadInputTokens: k.cacheReadInputTokens,
  outputTokens: k.outputTokens,
  costUsd: k.costUsd
})

const usd = (n: number | null) => (n === null ? "unknown" : `$${n.toFixed(4)}`)
const pct = (n: number) => `${(n * 100).toFixed(1)}%`
const signedPct = (n: number) => `${n >= 0 ? "+" : "-"}${Math.abs(n * 100).toFixed(1)}%`
const ms = (n: number | null) => (n === null ? "-" : n >= 10_000 ? `${(n / 1000).toFixed(1)}s` : `${Math.round(n)}ms`)
const hitRateTokens = (c: CallFigures) => {
  const prompt = c.inputTokens + c.cacheCreationInputTokens + c.cacheReadInputTokens
  return prompt === 0 ? 0 : c.cacheReadInputTokens / prompt
}

/**
 * One report as text.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderText = (r: Report): string => {
  const lines = [
    `workload ${r.workload} · provider ${r.provider} · model ${r.model} · warming ${r.warming} · pruning ${r.pruning}` +
    (r.details.keepAlive ? " · keep-alive" : ""),
    `${r.sessions} session(s) × ${r.turns} turns; ${r.calls.request.count} requests, ${r.calls.warm.count} warm calls, ` +
    `${r.retries} retries, ${r.failedRequests} failed`,
    "",
    `                 calls   hits   input   write 5m   write 1h      read   output        cost`
  ]
  for (const [name, c] of [["warm", r.calls.warm], ["request", r.calls.request]] as const) {
    lines.push(
      `${name.padEnd(14)} ${String(c.count).padStart(7)} ${String(c.cacheHits).padStart(6)} ${
        String(c.inputTokens).padStart(7)
      } ${String(c.cacheCreation5mInputTokens).padStart(10)} ${String(c.cacheCreation1hInputTokens).padStart(10)} ${
        String(c.cacheReadInputTokens).padStart(9)
      } ${String(c.outputTokens).padStart(8)} ${usd(c.costUsd).padStart(11)}`
    )
  }
  lines.push(
    "",
    `total cost ${usd(r.totalCostUsd)}; without caching ${usd(r.noCacheCostUsd)}; oracle lower bound ${
      usd(r.oracleCostUsd)
    }` + (r.totalCostUsd !== null && r.oracleCostUsd ? ` (${(r.totalCostUsd / r.oracleCostUsd).toFixed(3)}× oracle)` : ""),
    `request hit rate ${pct(r.details.hitRate.request.calls)} of calls, ${pct(r.details.hitRate.request.tokens)} of prompt tokens; ` +
      `turn latency p50 ${ms(r.details.turnLatencyMs.p50)}, p95 ${ms(r.details.turnLatencyMs.p95)}` +
      (r.details.simulatedTime ? " (simulated time)" : "") +
      (r.details.timeScale !== 1 ? `; idle gaps ×${r.details.timeScale} (TTL expiry and keep-alive behave differently at another scale)` : ""),
    `pruned ${r.prunedTokens} tokens` +
      (Object.keys(r.details.prunedByRule).length > 0 ? ` (${Object.entries(r.details.prunedByRule).map(([k, v]) => `${k} ${v}`).join(", ")})` : "") +
      `; skipped warms: ${Object.entries(r.details.skippedWarms).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}`,
    `why not read (tokens): ${missLine("warm", r.missReasons.warm)}; ${missLine("requests", r.missReasons.request)}` +
      (r.details.apiDiagnoses.compared > 0
        ? `; the API's diagnosis differs on ${r.details.apiDiagnoses.disagreed} of ${r.details.apiDiagnoses.compared} calls`
        : "")
  )
  if (r.details.arrivals !== null) {
    lines.push(
      `arrivals: ${r.details.arrivals.perSecond} sessions a second on average; ${r.details.arrivals.delayedStarts} started late ` +
        `(more than ${r.details.sessionConcurrency.toLocaleString("en-US")} sessions at once)`
    )
  }
  if (r.perHour.length >= 2) lines.push("", ...renderHours(r.perHour))
  for (const w of r.details.warnings) lines.push(`warning: ${w}`)
  return lines.join("\n")
}

/**
 * The hour-by-hour rows of a report.
 *
 * @since 0.4.0
 * @category rendering
 */
export const renderHours = (hours: ReadonlyArray<HourFigures>): ReadonlyArray<string> => [
  "hour  sessions  requests  warm calls  hit rate (tokens)   cost/hour",
  ...hours.map((h) =>
    `${String(h.hour).padStart(4)}  ${String(h.sessionsStarted).padStart(8)}  ${String(h.requests).padStart(8)}  ${
      String(h.warmCalls).padStart(10)
    }  ${pct(h.hitRateTokens).padStart(17)}  ${usd(h.costUsd).padStart(10)}`
  )
]

const missLine = (kind: string, reasons: Readonly<Record<string, number>>) => {
  const parts = Object.entries(reasons).filter(([, n]) => n > 0).sort(([, a], [, b]) => b - a)
  return `${kind} ${parts.length === 0 ? "none" : parts.map(([k, n]) => `${k} ${n}`).join(", ")}`
}

/**
 * Several reports side by side.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderBench = (reports: ReadonlyArray<Report>): string => {
  const first = reports[0]
  if (first === undefined) return "no results"
  const header = `workload ${first.workload} · provider ${first.provider} · model ${first.model} · ${first.sessions} session(s) × ${first.turns} turns` +
    (first.details.simulatedTime ? " · latency in simulated time" : "") +
    (first.details.timeScale !== 1 ? ` · idle gaps ×${first.details.timeScale} (TTL behaviour changes with the scale)` : "")
  const baseline = first.noCacheCostUsd
  const cols = [
    "warming", "pruning", "cost", "vs no cache", "× oracle", "warm calls", "req hits", "req hit tok", "warm hit", "p50 turn", "p95 turn", "pruned"
  ]
  const rows = reports.map((r) => [
    r.details.keepAlive ? `${r.warming}+keep-alive` : r.warming,
    r.pruning,
    usd(r.totalCostUsd),
    r.totalCostUsd !== null && baseline ? signedPct(r.totalCostUsd / baseline - 1) : "-",
    r.totalCostUsd !== null && r.oracleCostUsd ? (r.totalCostUsd / r.oracleCostUsd).toFixed(3) : "-",
    String(r.calls.warm.count),
    pct(r.details.hitRate.request.calls),
    pct(hitRateTokens(r.calls.request)),
    r.calls.warm.count === 0 ? "-" : pct(r.calls.warm.cacheHits / r.calls.warm.count),
    ms(r.details.turnLatencyMs.p50),
    ms(r.details.turnLatencyMs.p95),
    String(r.prunedTokens)
  ])
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)))
  const fmt = (cells: ReadonlyArray<string>) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  return [
    header,
    `no-cache cost (every prompt token at the input price, ${first.warming}, pruning ${first.pruning}): ${usd(baseline)}`,
    "",
    fmt(cols),
    ...rows.map(fmt),
    "",
    ...LEGEND,
    ...tradeOff(reports)
  ].join("\n")
}

const LEGEND = [
  "cost: what the run's calls cost at the price table (USD) · vs no cache: against every prompt token at the input price",
  "× oracle: cost / the cheapest caching of the same requests (1.000 = nothing left to save) · warm calls: max_tokens 0 calls",
  "req hits: requests that read the cache · req hit tok: share of request prompt tokens read from it · warm hit: warm calls",
  "that found their prefix cached already · p50/p95 turn: from a turn's start to its last response (ms) · pruned: tokens removed",
  "auto establishes a cold prefix with its first request (the first-request method: no warm call); the turn's other requests",
  "wait for that request's response to begin, so one cache write replaces several, and the turn is slower by that wait"
]

/**
 * The latency that warming costs against what it saves: `auto` against naive `off`, pruning off.
 *
 * @since 0.1.0
 * @category rendering
 */
export const tradeOff = (reports: ReadonlyArray<Report>): ReadonlyArray<string> => {
  const find = (warming: string) => reports.find((r) => r.warming === warming && r.pruning === "off" && !r.details.keepAlive)
  const off = find("off")
  const auto = find("auto")
  if (off === undefined || auto === undefined || off.totalCostUsd === null || auto.totalCostUsd === null) return []
  const turns = Math.max(1, auto.turns * auto.sessions)
  const savedPerTurn = (off.totalCostUsd - auto.totalCostUsd) / turns
  const slower = ((auto.details.turnLatencyMs.p50 ?? 0) - (off.details.turnLatencyMs.p50 ?? 0)) / 1000
  const perSecond = slower > 0 && savedPerTurn > 0 ? ` ($${(savedPerTurn / slower).toFixed(4)} per second waited)` : ""
  return [
    `auto vs off (pruning off), per turn: $${Math.abs(savedPerTurn).toFixed(4)} ${savedPerTurn >= 0 ? "saved" : "more"} for ` +
    `${slower >= 0 ? "+" : ""}${slower.toFixed(2)} s of p50 turn latency${perSecond}`
  ]
}
