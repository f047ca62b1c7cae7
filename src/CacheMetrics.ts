/**
 * What was written, what was read, what it cost and what it would have cost otherwise — for warm calls
 * and real requests separately.
 *
 * Two views of the same records:
 * - Effect `Metric`s (module-level constants, tagged only from small fixed sets: `call`, `model`,
 *   token `kind`, error tag, skip reason, prune rule, miss reason), process-wide, exported through
 *   `@effect/opentelemetry` (OTLP, or Prometheus text: effect-prompt-cache/otel);
 * - a per-run accumulator behind the {@link CacheMetrics} service, whose {@link CacheMetrics.snapshot}
 *   is a plain JSON summary: several runs in one process never mix.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Option from "effect/Option"
import * as Pricing from "./Pricing.js"
import type { ProviderErrorTag } from "./ProviderError.js"
import type { Miss } from "./MissDiagnosis.js"
import type { Usage } from "./Response.js"
import { emptyUsage, promptTokens } from "./Response.js"

/**
 * `warm`: a `max_tokens: 0` call made to establish or refresh a cache entry. `request`: a real one.
 *
 * @since 0.1.0
 * @category models
 */
export type CallKind = "warm" | "request"

/**
 * Why a warm call was not made.
 *
 * @since 0.1.0
 * @category models
 */
export type SkipReason = "known_warm" | "below_minimum" | "single_request" | "warming_off" | "no_breakpoint"

// ---------------------------------------------------------------------------------------------------
// Process-wide Effect metrics
// ---------------------------------------------------------------------------------------------------

// Names by Prometheus conventions once exported (docs/metrics.md): counters are monotonic
// (`incremental`), so the Prometheus exporter adds `_total`; durations in seconds, money in USD.
const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

/** @since 0.1.0 @category metrics */
export const callsTotal = counter("epc_calls", "provider calls that succeeded")
/** @since 0.1.0 @category metrics */
export const cacheHitsTotal = counter("epc_cache_hits", "calls that read the cache")
/** @since 0.1.0 @category metrics */
export const cacheMissesTotal = counter("epc_cache_misses", "calls that read nothing from the cache")
/** @since 0.1.0 @category metrics */
export const tokensTotal = counter("epc_tokens", "tokens by kind: input, cache_write_5m, cache_write_1h, cache_read, output")
/** @since 0.3.0 @category metrics */
export const costUsdTotal = counter("epc_cost_usd", "cost in USD, from the price table")
/** @since 0.3.0 @category metrics */
export const noCacheCostUsdTotal = counter(
  "epc_no_cache_cost_usd",
  "what the same calls would have cost with no caching (every prompt token at the input price), USD"
)
/** @since 0.1.0 @category metrics */
export const retriesTotal = counter("epc_retries", "retries, by error tag")
/** @since 0.1.0 @category metrics */
export const failuresTotal = counter("epc_failures", "calls that failed after their retries, by error tag")
/** @since 0.1.0 @category metrics */
export const skippedWarmsTotal = counter("epc_skipped_warms", "warm calls not made, by reason")
/** @since 0.1.0 @category metrics */
export const prunedTokensTotal = counter("epc_pruned_tokens", "tokens pruned, by rule")

/**
 * @since 0.2.0
 * @category metrics
 */
export const gateRequestsTotal = counter(
  "epc_gate_requests",
  "requests by what the gate did with them (direct, led, waited, waited-uncached, passthrough)"
)

/**
 * @since 0.3.0
 * @category metrics
 */
export const gateSavedUsdTotal = counter("epc_gate_saved_usd", "what the waiting saved: the cache writes waiters read instead, priced (USD)")
/** @since 0.3.0 @category metrics */
export const cacheWriteUnknownTotal = counter(
  "epc_cache_write_unknown_calls",
  "calls whose cache writes the provider did not report (their writes are not in epc_tokens, their cost not in epc_cost_usd)"
)
/** @since 0.3.0 @category metrics */
export const missedTokensTotal = counter(
  "epc_missed_tokens",
  "tokens written (or, below_minimum, sent uncached) that a cache read could have served, by call and reason"
)
/** @since 0.3.0 @category metrics */
export const apiDiagnosesTotal = counter(
  "epc_api_miss_diagnoses",
  "calls the API diagnosed (Anthropic's cache diagnostics), by its reason and whether the library's agreed"
)

const latencyBoundaries = MetricBoundaries.exponential({ start: 0.05, factor: 2, count: 12 })
/** @since 0.3.0 @category metrics */
export const timeToBegunSeconds = Metric.histogram(
  "epc_time_to_response_begun_seconds",
  latencyBoundaries,
  "time from sending to the response having begun (cache readable), seconds"
)
/** @since 0.3.0 @category metrics */
export const latencySeconds = Metric.histogram("epc_latency_seconds", latencyBoundaries, "total call latency, seconds")
/** @since 0.3.0 @category metrics */
export const sessionCostUsd = Metric.histogram(
  "epc_session_cost_usd",
  MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 16 }),
  "what a session (conversation) cost, recorded when it ends, USD"
)

// ---------------------------------------------------------------------------------------------------
// Snapshot
// ---------------------------------------------------------------------------------------------------

/**
 * Figures of one call kind.
 *
 * @since 0.1.0
 * @category models
 */
export interface KindSnapshot {
  readonly count: number
  readonly cacheHits: number
  readonly cacheMisses: number
  /** calls with a cache read / calls */
  readonly hitRateByCalls: number
  /** read / (read + write + input) */
  readonly hitRateByTokens: number
  readonly inputTokens: number
  readonly cacheCreationInputTokens: number
  readonly cacheCreation5mInputTokens: number
  readonly cacheCreation1hInputTokens: number
  readonly cacheReadInputTokens: number
  readonly outputTokens: number
  /** calls whose cache writes the provider did not report (their writes count 0 above) */
  readonly cacheWriteUnknownCalls: number
  /** null when some call's model has no price, or some call's cache writes are unknown (see `warnings`) */
  readonly costUsd: number | null
  /** the same calls with no caching: every prompt token at the base input price */
  readonly noCacheCostUsd: number | null
  readonly retries: number
  readonly failures: number
  readonly latencyMs: { readonly p50: number | null; readonly p95: number | null; readonly max: number | null }
  readonly timeToBegunMs: { readonly p50: number | null; readonly p95: number | null }
  /** tokens written (or sent uncached below the minimum) by why the cache could not serve them (docs/observability.md) */
  readonly missReasons: Readonly<Record<string, number>>
}

/**
 * A plain, JSON-serializable summary of one run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly calls: { readonly warm: KindSnapshot; readonly request: KindSnapshot }
  readonly totals: KindSnapshot
  readonly totalCostUsd: number | null
  readonly noCacheCostUsd: number | null
  /** noCacheCostUsd − totalCostUsd */
  readonly savingsUsd: number | null
  /** savings as a share of the no-cache cost */
  readonly savingsRatio: number | null
  readonly retries: Readonly<Record<string, number>>
  readonly failures: Readonly<Record<string, number>>
  readonly skippedWarms: Readonly<Record<string, number>>
  readonly prunedTokens: Readonly<Record<string, number>>
  /** requests by gate outcome, where something records them (the proxy) */
  readonly gates: Readonly<Record<string, number>>
  /** what waiting at the gate saved: the writes waiters read instead, priced (USD) */
  readonly gateSavingsUsd: number
  /** calls the API diagnosed and that wrote, and those where its reason and the library's differ */
  readonly apiDiagnoses: { readonly compared: number; readonly disagreed: number }
  readonly warnings: ReadonlyArray<string>
}

interface KindState {
  count: number
  hits: number
  usage: Usage
  costMicros: number
  noCacheMicros: number
  unpriced: number
  writesUnknown: number
  retries: number
  failures: number
  latencies: Array<number>
  begun: Array<number>
  misses: Map<string, number>
}

const emptyKind = (): KindState => ({
  count: 0,
  hits: 0,
  usage: emptyUsage,
  costMicros: 0,
  noCacheMicros: 0,
  unpriced: 0,
  writesUnknown: 0,
  retries: 0,
  failures: 0,
  latencies: [],
  begun: [],
  misses: new Map()
})

const percentile = (sorted: ReadonlyArray<number>, q: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!

const round = (usd: number) => Math.round(usd * 1e9) / 1e9

const summarize = (k: KindState): KindSnapshot => {
  const u = k.usage
  const prompt = promptTokens(u)
  const lat = k.latencies.slice().sort((a, b) => a - b)
  const begun = k.begun.slice().sort((a, b) => a - b)
  return {
    count: k.count,
    cacheHits: k.hits,
    cacheMisses: k.count - k.hits,
    hitRateByCalls: k.count === 0 ? 0 : k.hits / k.count,
    hitRateByTokens: prompt === 0 ? 0 : u.cacheRead / prompt,
    inputTokens: u.input,
    cacheCreationInputTokens: u.cacheCreation5m + u.cacheCreation1h,
    cacheCreation5mInputTokens: u.cacheCreation5m,
    cacheCreation1hInputTokens: u.cacheCreation1h,
    cacheReadInputTokens: u.cacheRead,
    outputTokens: u.output,
    cacheWriteUnknownCalls: k.writesUnknown,
    costUsd: k.unpriced > 0 || k.writesUnknown > 0 ? null : round(Pricing.microsToUsd(k.costMicros)),
    noCacheCostUsd: k.unpriced > 0 ? null : round(Pricing.microsToUsd(k.noCacheMicros)),
    retries: k.retries,
    failures: k.failures,
    latencyMs: { p50: percentile(lat, 0.5), p95: percentile(lat, 0.95), max: lat.length === 0 ? null : lat[lat.length - 1]! },
    timeToBegunMs: { p50: percentile(begun, 0.5), p95: percentile(begun, 0.95) },
    missReasons: Object.fromEntries(k.misses)
  }
}

const merge = (a: KindState, b: KindState): KindState => ({
  count: a.count + b.count,
  hits: a.hits + b.hits,
  usage: {
    input: a.usage.input + b.usage.input,
    cacheCreation5m: a.usage.cacheCreation5m + b.usage.cacheCreation5m,
    cacheCreation1h: a.usage.cacheCreation1h + b.usage.cacheCreation1h,
    cacheRead: a.usage.cacheRead + b.usage.cacheRead,
    output: a.usage.output + b.usage.output
  },
  costMicros: a.costMicros + b.costMicros,
  noCacheMicros: a.noCacheMicros + b.noCacheMicros,
  unpriced: a.unpriced + b.unpriced,
  writesUnknown: a.writesUnknown + b.writesUnknown,
  retries: a.retries + b.retries,
  failures: a.failures + b.failures,
  latencies: [...a.latencies, ...b.latencies],
  begun: [...a.begun, ...b.begun],
  misses: [...b.misses].reduce((m, [k, v]) => m.set(k, (m.get(k) ?? 0) + v), new Map(a.misses))
})

// ---------------------------------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------------------------------

/**
 * One successful call, as the metrics record it.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallRecord {
  readonly call: CallKind
  readonly model: string
  readonly usage: Usage
  /**
   * the provider did not report the call's cache writes (its `usage` says 0): they are unknown, and
   * so is the cost of its kind of call
   */
  readonly writesUnknown?: boolean | undefined
  readonly latencyMs: number
  /** when the response began (the cache became readable); absent when unknown */
  readonly timeToBegunMs?: number | undefined
  /** why what it wrote could not be read (MissDiagnosis) */
  readonly misses?: ReadonlyArray<Miss> | undefined
  /** the API's own diagnosis of the call, and whether it agrees with `misses` (compared calls only) */
  readonly apiDiagnosis?: { readonly reason: string; readonly agrees: boolean } | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CacheMetricsService {
  readonly recordCall: (record: CallRecord) => Effect.Effect<void>
  readonly recordRetry: (call: CallKind, error: ProviderErrorTag) => Effect.Effect<void>
  readonly recordFailure: (call: CallKind, error: ProviderErrorTag) => Effect.Effect<void>
  readonly recordSkippedWarm: (reason: SkipReason) => Effect.Effect<void>
  readonly recordPruned: (rule: string, tokens: number) => Effect.Effect<void>
  /** one request's gate outcome and, for a waiter that read, the write it avoided (µUSD) */
  readonly recordGate: (outcome: string, savedMicros?: number | undefined) => Effect.Effect<void>
  /** a session that ended, and what it cost (USD): one observation of the session-cost histogram */
  readonly recordSession: (costUsd: number) => Effect.Effect<void>
  readonly snapshot: Effect.Effect<Snapshot>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class CacheMetrics extends Context.Tag("effect-prompt-cache/CacheMetrics")<CacheMetrics, CacheMetricsService>() {}

/**
 * Label sets by their text, built once. Updating a base metric with the same label array every time
 * hits Effect's per-array hook cache; `Metric.tagged` metrics build a fresh label array, and so a
 * metric key, on every update.
 */
const labelSets = new Map<string, Array<MetricLabel.MetricLabel>>()
const labelSet = (...pairs: ReadonlyArray<string>): Array<MetricLabel.MetricLabel> => {
  const key = pairs.join("\u0000")
  let labels = labelSets.get(key)
  if (labels === undefined) {
    labels = []
    for (let i = 0; i + 1 < pairs.length; i += 2) labels.push(MetricLabel.make(pairs[i]!, pairs[i + 1]!))
    if (labelSets.size > 1000) labelSets.clear()
    labelSets.set(key, labels)
  }
  return labels
}
const increment = (metric: Metric.Metric.Counter<number>, by: number, ...pairs: ReadonlyArray<string>) =>
  metric.unsafeUpdate(by, labelSet(...pairs))

/** the metric updates of one (call kind, model), with their label sets: built once, reused per call */
const taggedCache = new Map<string, ReturnType<typeof buildTagged>>()
const buildTagged = (call: CallKind, model: string) => {
  const counter = (metric: Metric.Metric.Counter<number>) => ({ metric, tags: labelSet("call", call, "model", model) })
  const tokens = (kind: string) => ({ metric: tokensTotal, tags: labelSet("call", call, "model", model, "kind", kind) })
  return {
    calls: counter(callsTotal),
    hits: counter(cacheHitsTotal),
    misses: counter(cacheMissesTotal),
    input: tokens("input"),
    write5m: tokens("cache_write_5m"),
    write1h: tokens("cache_write_1h"),
    read: tokens("cache_read"),
    output: tokens("output"),
    cost: counter(costUsdTotal),
    noCache: counter(noCacheCostUsdTotal),
    callLabel: labelSet("call", call)
  }
}
const taggedFor = (call: CallKind, model: string) => {
  const key = `${call}\u0000${model}`
  let m = taggedCache.get(key)
  if (m === undefined) {
    m = buildTagged(call, model)
    if (taggedCache.size > 1000) taggedCache.clear()
    taggedCache.set(key, m)
  }
  return m
}

const bump = (map: Map<string, number>, key: string, by = 1) => map.set(key, (map.get(key) ?? 0) + by)

const WRITES_UNKNOWN_WARNING =
  "some calls' cache writes were not reported by the provider (cacheWriteUnknownCalls): their write tokens count 0 and their cost is unknown"

/**
 * A fresh accumulator for one run. Needs {@link Pricing.Pricing}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const pricing = yield* Pricing.Pricing
  const kinds: Record<CallKind, KindState> = { warm: emptyKind(), request: emptyKind() }
  const retries = new Map<string, number>()
  const failures = new Map<string, number>()
  const skipped = new Map<string, number>()
  const gates = new Map<string, number>()
  let gateSavedMicros = 0
  const apiDiagnoses = { compared: 0, disagreed: 0 }
  const pruned = new Map<string, number>()
  const warnings = new Set<string>()

  const recordCall = (r: CallRecord) =>
    Effect.suspend(() => {
      const k = kinds[r.call]
      const model = Pricing.canonicalModel(r.model)
      const price = pricing.lookup(r.model)
      const cost = Option.map(price, (p) => Pricing.costMicros(r.usage, p))
      k.count++
      if (r.usage.cacheRead > 0) k.hits++
      if (r.writesUnknown === true) {
        k.writesUnknown++
        warnings.add(WRITES_UNKNOWN_WARNING)
        increment(cacheWriteUnknownTotal, 1, "call", r.call, "model", model)
      }
      k.usage = {
        input: k.usage.input + r.usage.input,
        cacheCreation5m: k.usage.cacheCreation5m + r.usage.cacheCreation5m,
        cacheCreation1h: k.usage.cacheCreation1h + r.usage.cacheCreation1h,
        cacheRead: k.usage.cacheRead + r.usage.cacheRead,
        output: k.usage.output + r.usage.output
      }
      if (Option.isSome(price)) {
        k.costMicros += cost.pipe(Option.getOrElse(() => 0))
        k.noCacheMicros += Pricing.noCacheCostMicros(r.usage, price.value)
      } else {
        k.unpriced++
        warnings.add(Pricing.unknownModelWarning(r.model))
      }
      k.latencies.push(r.latencyMs)
      if (r.timeToBegunMs !== undefined) k.begun.push(r.timeToBegunMs)
      if (r.apiDiagnosis !== undefined) {
        apiDiagnoses.compared++
        if (!r.apiDiagnosis.agrees) apiDiagnoses.disagreed++
        increment(apiDiagnosesTotal, 1, "call", r.call, "api_reason", r.apiDiagnosis.reason, "agrees", String(r.apiDiagnosis.agrees))
      }
      if (r.misses !== undefined) {
        for (const miss of r.misses) {
          bump(k.misses, miss.reason, miss.tokens)
          increment(missedTokensTotal, miss.tokens, "call", r.call, "reason", miss.reason)
        }
      }
      const m = taggedFor(r.call, model)
      // one synchronous step for all ten updates: this runs once per call, on the hot path
      return Effect.sync(() => {
        const add = (c: { readonly metric: Metric.Metric.Counter<number>; readonly tags: Array<MetricLabel.MetricLabel> }, n: number) => {
          if (n > 0) c.metric.unsafeUpdate(n, c.tags)
        }
        add(m.calls, 1)
        add(r.usage.cacheRead > 0 ? m.hits : m.misses, 1)
        add(m.input, r.usage.input)
        add(m.write5m, r.usage.cacheCreation5m)
        add(m.write1h, r.usage.cacheCreation1h)
        add(m.read, r.usage.cacheRead)
        add(m.output, r.usage.output)
        if (Option.isSome(cost) && r.writesUnknown !== true) add(m.cost, Pricing.microsToUsd(cost.value))
        if (Option.isSome(price)) add(m.noCache, Pricing.microsToUsd(Pricing.noCacheCostMicros(r.usage, price.value)))
        // a call that was not streamed has no time to first byte: its total latency is not one
        if (r.timeToBegunMs !== undefined) timeToBegunSeconds.unsafeUpdate(r.timeToBegunMs / 1000, m.callLabel)
        latencySeconds.unsafeUpdate(r.latencyMs / 1000, m.callLabel)
      })
    })

  const service: CacheMetricsService = {
    recordCall,
    recordRetry: (call, error) =>
      Effect.sync(() => {
        kinds[call].retries++
        bump(retries, error)
        increment(retriesTotal, 1, "call", call, "error", error)
      }),
    recordFailure: (call, error) =>
      Effect.sync(() => {
        kinds[call].failures++
        bump(failures, error)
        increment(failuresTotal, 1, "call", call, "error", error)
      }),
    recordSkippedWarm: (reason) =>
      Effect.sync(() => {
        bump(skipped, reason)
        increment(skippedWarmsTotal, 1, "reason", reason)
      }),
    recordGate: (outcome, savedMicros) =>
      Effect.sync(() => {
        bump(gates, outcome)
        increment(gateRequestsTotal, 1, "outcome", outcome)
        if (savedMicros !== undefined && savedMicros > 0) {
          gateSavedMicros += savedMicros
          gateSavedUsdTotal.unsafeUpdate(Pricing.microsToUsd(savedMicros), [])
        }
      }),
    recordSession: (costUsd) => Effect.sync(() => sessionCostUsd.unsafeUpdate(costUsd, [])),
    recordPruned: (rule, tokens) =>
      Effect.sync(() => {
        bump(pruned, rule, tokens)
        increment(prunedTokensTotal, tokens, "rule", rule)
      }),
    snapshot: Effect.sync(() => {
      const warm = summarize(kinds.warm)
      const request = summarize(kinds.request)
      const totals = summarize(merge(kinds.warm, kinds.request))
      const savings = totals.costUsd === null || totals.noCacheCostUsd === null
        ? null
        : round(totals.noCacheCostUsd - totals.costUsd)
      return {
        calls: { warm, request },
        totals,
        totalCostUsd: totals.costUsd,
        noCacheCostUsd: totals.noCacheCostUsd,
        savingsUsd: savings,
        savingsRatio: savings === null || totals.noCacheCostUsd === null || totals.noCacheCostUsd === 0
          ? null
          : savings / totals.noCacheCostUsd,
        retries: Object.fromEntries(retries),
        failures: Object.fromEntries(failures),
        skippedWarms: Object.fromEntries(skipped),
        prunedTokens: Object.fromEntries(pruned),
        gates: Object.fromEntries(gates),
        gateSavingsUsd: round(gateSavedMicros / 1_000_000),
        apiDiagnoses: { ...apiDiagnoses },
        warnings: [...warnings]
      }
    })
  }
  return service
})

/**
 * Metrics scoped to one run: each build of this layer starts from zero.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<CacheMetrics, never, Pricing.Pricing> = Layer.effect(CacheMetrics, make)
