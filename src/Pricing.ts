/**
 * The price table: per model, base input and output prices per million tokens, the cache multipliers,
 * and the minimum cacheable prefix. One data module, dated, overridable by users.
 *
 * Figures read on 2026-11-26 from `shared/reference/prompt-caching.md` (Anthropic's pricing and
 * prompt-caching pages, 2026 copies). Models whose minimum or price is not confirmed (Sonnet 5.x,
 * Opus 5.x, Haiku 5.5, Mythos) are not priced here: add them with {@link layer}.
 *
 * Costs are computed in micro-dollars: tokens × (USD per million tokens) = µUSD.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Usage } from "./Response.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const PRICES_READ_ON = "2026-11-26"

/**
 * The default multipliers of the base input price (Anthropic's, for every model priced here): a 5m
 * write 1.25×, a 1h write 2×, a read 0.1×. A model may carry its own in its price row
 * (`multipliers`), as newer ones price reads differently.
 *
 * @since 0.1.0
 * @category constants
 */
export const Multipliers = {
  write5m: 1.25,
  write1h: 2,
  read: 0.1,
  input: 1
} as const

/**
 * @since 0.1.0
 * @category schemas
 */
export const CacheMultipliers = Schema.Struct({
  write5m: Schema.Number.pipe(Schema.nonNegative()),
  write1h: Schema.Number.pipe(Schema.nonNegative()),
  read: Schema.Number.pipe(Schema.nonNegative())
})
/**
 * @since 0.1.0
 * @category models
 */
export type CacheMultipliers = typeof CacheMultipliers.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const ModelPrice = Schema.Struct({
  /** USD per million input tokens */
  input: Schema.Number.pipe(Schema.nonNegative()),
  /** USD per million output tokens */
  output: Schema.Number.pipe(Schema.nonNegative()),
  /** minimum cacheable prefix, in tokens */
  minCacheableTokens: Schema.Int.pipe(Schema.positive()),
  /** the cache multipliers of this model (default {@link Multipliers}) */
  multipliers: Schema.optional(CacheMultipliers),
  /** the most `max_tokens` the model accepts (unchecked when absent) */
  maxOutputTokens: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** prompt + `max_tokens`, in tokens, the model accepts (unchecked when absent) */
  contextWindow: Schema.optional(Schema.Int.pipe(Schema.positive()))
})
/**
 * @since 0.1.0
 * @category models
 */
export type ModelPrice = typeof ModelPrice.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const PriceTable = Schema.Record({ key: Schema.String, value: ModelPrice })
/**
 * @since 0.1.0
 * @category models
 */
export type PriceTable = typeof PriceTable.Type

// Output limits and context windows (read 2026-11-26): 128,000 output tokens for Opus 4.6 / 4.7 and
// Sonnet 4.6, 64,000 for the other 4.5-era and Sonnet 4 / 3.7 models, 32,000 for Opus 4 / 4.1, 8,192
// for Haiku 3.5, 4,096 for Haiku 3 (docs/metrics.md cites the sources); a 1M-token window for Opus
// 4.6 / 4.7 and Sonnet 4.6, 200k for the others. Checked before sending (PromptValidation).
const opus45: ModelPrice = { input: 5, output: 25, minCacheableTokens: 4096, maxOutputTokens: 64_000, contextWindow: 200_000 }
const opus46: ModelPrice = { ...opus45, maxOutputTokens: 128_000, contextWindow: 1_000_000 }
const opus4: ModelPrice = { input: 15, output: 75, minCacheableTokens: 1024, maxOutputTokens: 32_000, contextWindow: 200_000 }
const sonnet: ModelPrice = { input: 3, output: 15, minCacheableTokens: 1024, maxOutputTokens: 64_000, contextWindow: 200_000 }

/**
 * The built-in table, keyed by model id without its date suffix.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTable: PriceTable = {
  "claude-opus-4-7": opus46,
  "claude-opus-4-6": opus46,
  "claude-opus-4-5": opus45,
  "claude-opus-4-1": opus4,
  "claude-opus-4-0": opus4,
  "claude-opus-4": opus4,
  "claude-sonnet-4-6": { ...sonnet, minCacheableTokens: 2048, maxOutputTokens: 128_000, contextWindow: 1_000_000 },
  "claude-sonnet-4-5": sonnet,
  "claude-sonnet-4-0": sonnet,
  "claude-sonnet-4": sonnet,
  "claude-3-7-sonnet": sonnet,
  "claude-haiku-4-5": { input: 1, output: 5, minCacheableTokens: 4096, maxOutputTokens: 64_000, contextWindow: 200_000 },
  "claude-3-5-haiku": { input: 0.8, output: 4, minCacheableTokens: 2048, maxOutputTokens: 8_192, contextWindow: 200_000 },
  "claude-3-haiku": { input: 0.25, output: 1.25, minCacheableTokens: 2048, maxOutputTokens: 4_096, contextWindow: 200_000 }
}

/**
 * The table key of a model id: dated ids (`claude-sonnet-4-5-20250929`) and `-latest` aliases map to
 * their base id.
 *
 * @since 0.1.0
 * @category utils
 */
export const canonicalModel = (model: string): string => model.replace(/-(\d{8}|latest)$/, "")

/**
 * @since 0.1.0
 * @category utils
 */
export const lookup = (table: PriceTable, model: string): Option.Option<ModelPrice> =>
  Option.fromNullable(rowOf(table, model))

/** the model's row, by its id or its base id; undefined when it has none (no Option: hot paths ask) */
const rowOf = (table: PriceTable, model: string): ModelPrice | undefined => table[model] ?? table[canonicalModel(model)]

/**
 * Cost of a usage in micro-dollars, with the 5m/1h split priced separately.
 *
 * @since 0.1.0
 * @category cost
 */
export const costMicros = (usage: Usage, price: ModelPrice): number => {
  const m = multipliersOf(price)
  return price.input * (
    usage.input * Multipliers.input +
    usage.cacheCreation5m * m.write5m +
    usage.cacheCreation1h * m.write1h +
    usage.cacheRead * m.read
  ) + price.output * usage.output
}

/**
 * The model's cache multipliers: its own, or the defaults.
 *
 * @since 0.1.0
 * @category cost
 */
export const multipliersOf = (price: ModelPrice): CacheMultipliers => price.multipliers ?? Multipliers

/**
 * The multiplier of a write at `ttl`.
 *
 * @since 0.1.0
 * @category cost
 */
export const writeMultiplier = (m: CacheMultipliers, ttl: "5m" | "1h"): number => (ttl === "1h" ? m.write1h : m.write5m)

/**
 * What the same call would cost with no caching at all: every prompt token at the base input price.
 *
 * @since 0.1.0
 * @category cost
 */
export const noCacheCostMicros = (usage: Usage, price: ModelPrice): number =>
  price.input * (usage.input + usage.cacheCreation5m + usage.cacheCreation1h + usage.cacheRead) +
  price.output * usage.output

/**
 * @since 0.1.0
 * @category utils
 */
export const microsToUsd = (micros: number): number => micros / 1_000_000

/**
 * The model's limits from its price row, for `PromptValidation` (none for a model missing from the
 * table: the API will say).
 *
 * @since 0.1.0
 * @category utils
 */
export const limitsOf = (
  table: PriceTable,
  model: string
): { readonly maxOutputTokens?: number | undefined; readonly contextWindow?: number | undefined } => {
  const price = rowOf(table, model)
  return price === undefined ? {} : { maxOutputTokens: price.maxOutputTokens, contextWindow: price.contextWindow }
}

/**
 * The message that tells a user how to price an unknown model.
 *
 * @since 0.1.0
 * @category utils
 */
export const unknownModelWarning = (model: string): string =>
  `no price for model "${model}": its cost is reported as unknown. Add it with Pricing.layer({ "${model}": { input, output, minCacheableTokens } }) or --prices FILE`

/**
 * The minimum cacheable prefix assumed for a model missing from the price table (tokens).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MIN_CACHEABLE_TOKENS = 1024

/**
 * @since 0.1.0
 * @category models
 */
export interface PricingService {
  readonly table: PriceTable
  readonly lookup: (model: string) => Option.Option<ModelPrice>
  /**
   * The model's minimum cacheable prefix: the one rule every part of the library asks (the planner
   * places no breakpoint below it, the warmer establishes nothing below it).
   */
  readonly minCacheableTokens: (model: string) => number
  /** the model's cache multipliers (the defaults for a model missing from the table) */
  readonly multipliers: (model: string) => CacheMultipliers
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PricingOptions {
  /** the minimum cacheable prefix for a model missing from the table (default 1,024) */
  readonly defaultMinCacheableTokens?: number | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Pricing extends Context.Tag("effect-prompt-cache/Pricing")<Pricing, PricingService>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (overrides: PriceTable = {}, options: PricingOptions = {}): PricingService => {
  const table = { ...defaultTable, ...overrides }
  const fallback = options.defaultMinCacheableTokens ?? DEFAULT_MIN_CACHEABLE_TOKENS
  return {
    table,
    lookup: (model) => lookup(table, model),
    minCacheableTokens: (model) => rowOf(table, model)?.minCacheableTokens ?? fallback,
    multipliers: (model) => rowOf(table, model)?.multipliers ?? Multipliers
  }
}

/**
 * The built-in table, extended or overridden by `overrides`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (overrides: PriceTable = {}, options: PricingOptions = {}): Layer.Layer<Pricing> =>
  Layer.succeed(Pricing, make(overrides, options))

/**
 * @since 0.1.0
 * @category layers
 */
export const layerDefault: Layer.Layer<Pricing> = layer()
