/**
 * The price table: per model, base input and output prices per million tokens, the cache multipliers,
 * and the minimum cacheable prefix. One data module, dated, overridable by users.
 *
 * Figures read on 2026-11-26 from `shared/reference/prompt-caching.md` (Anthropic's pricing and
 * prompt-caching pages, 2026 copies). Models whose minimum or price is not confirmed (Sonnet 5.x,
 * Opus 5.x, Haiku 5.5, Mythos) are not priced here: add them with {@link layer}. OpenAI's rows (the
 * `caching` of each says which cache rules apply) are cited in docs/openai.md.
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
 * Whose cache rules a model follows (docs/simulator.md, docs/openai.md):
 * - `anthropic`: `cache_control` breakpoints, writes billed per TTL, reads 0.1×;
 * - `openai-automatic`: OpenAI before GPT-5.6: every prompt of ≥ 1,024 tokens is cached, hits in
 *   128-token steps, writes free and unreported, breakpoints ignored;
 * - `openai-breakpoints`: GPT-5.6 and later: an implicit breakpoint at the latest message plus
 *   explicit ones, reads only where a breakpoint was written, writes billed and reported.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Caching = Schema.Literal("anthropic", "openai-automatic", "openai-breakpoints")
/**
 * @since 0.2.0
 * @category models
 */
export type Caching = typeof Caching.Type

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
  contextWindow: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** whose cache rules the model follows (default `anthropic`) */
  caching: Schema.optional(Caching)
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

// OpenAI (read 2026-11-26; sources in docs/openai.md). Before GPT-5.6 a write costs nothing extra
// (multiplier 1: the tokens are plain input, and the API does not report them as writes); cached
// input is 0.5× on gpt-4o, 0.25× on gpt-4.1, 0.1× on gpt-5. GPT-5.6 (Sol, Terra, Luna) bills writes
// at 1.25× and reads at 0.1×. A write's TTL has no 1h tier on OpenAI: both write multipliers agree.
const openaiAutomatic = (input: number, output: number, read: number, maxOutputTokens: number, contextWindow: number): ModelPrice => ({
  input,
  output,
  minCacheableTokens: 1024,
  multipliers: { write5m: 1, write1h: 1, read },
  maxOutputTokens,
  contextWindow,
  caching: "openai-automatic"
})
const gpt56 = (input: number, output: number): ModelPrice => ({
  input,
  output,
  minCacheableTokens: 1024,
  multipliers: { write5m: 1.25, write1h: 1.25, read: 0.1 },
  caching: "openai-breakpoints"
})

/**
 * OpenAI's models in the built-in table.
 *
 * @since 0.2.0
 * @category constants
 */
export const openaiTable: PriceTable = {
  "gpt-4o": openaiAutomatic(2.5, 10, 0.5, 16_384, 128_000),
  "gpt-4o-mini": openaiAutomatic(0.15, 0.6, 0.5, 16_384, 128_000),
  "gpt-4.1": openaiAutomatic(2, 8, 0.25, 32_768, 1_047_576),
  "gpt-4.1-mini": openaiAutomatic(0.4, 1.6, 0.25, 32_768, 1_047_576),
  "gpt-4.1-nano": openaiAutomatic(0.1, 0.4, 0.25, 32_768, 1_047_576),
  "gpt-5": openaiAutomatic(1.25, 10, 0.1, 128_000, 400_000),
  "gpt-5-mini": openaiAutomatic(0.25, 2, 0.1, 128_000, 400_000),
  "gpt-5-nano": openaiAutomatic(0.05, 0.4, 0.1, 128_000, 400_000),
  "gpt-5.6-sol": gpt56(5, 30),
  "gpt-5.6-terra": gpt56(2.5, 15),
  "gpt-5.6-luna": gpt56(1, 6)
}

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
  "claude-3-haiku": { input: 0.25, output: 1.25, minCacheableTokens: 2048, maxOutputTokens: 4_096, contextWindow: 200_000 },
  ...openaiTable
}

/**
 * The table key of a model id: dated ids (`claude-sonnet-4-5-20250929`, `gpt-4o-2024-08-06`) and
 * `-latest` aliases map to their base id, and so do the cloud platforms' ids: Bedrock's
 * (`anthropic.claude-sonnet-4-6-v1:0`, inference profiles `us.anthropic.…`, `global.anthropic.…`) and
 * Vertex's (`claude-sonnet-4-6@20250929`).
 *
 * @since 0.1.0
 * @category utils
 */
export const canonicalModel = (model: string): string =>
  model
    .replace(/^(?:[a-z]{2,6}\.)?anthropic\./, "")
    .replace(/-v\d+(?::\d+)?$/, "")
    .replace(/@[^@]*$/, "")
    .replace(/-(\d{8}|\d{4}-\d{2}-\d{2}|latest)$/, "")

/**
 * @since 0.1.0
 * @category utils
 */
export const lookup = (table: PriceTable, model: string): Option.Option<ModelPrice> =>
  Option.fromNullable(rowOf(table, model))

/**
 * The cloud platform a model id belongs to: Bedrock's ids (`anthropic.…`, `us.anthropic.…`) and
 * Vertex's (`…@version`); `undefined` for the first-party API's.
 *
 * @since 0.2.0
 * @category utils
 */
export const platformOf = (model: string): "bedrock" | "vertex" | undefined =>
  /^(?:[a-z]{2,6}\.)?anthropic\./.test(model) ? "bedrock" : model.includes("@") ? "vertex" : undefined

/**
 * The model's row: by its id, then by its platform and base id (`bedrock:claude-opus-4-7`, where a
 * platform's minimum or price differs from Anthropic's), then by its base id; undefined when it has
 * none (no Option: hot paths ask).
 */
const rowOf = (table: PriceTable, model: string): ModelPrice | undefined => {
  const exact = table[model]
  if (exact !== undefined) return exact
  const base = canonicalModel(model)
  const platform = platformOf(model)
  return (platform === undefined ? undefined : table[`${platform}:${base}`]) ?? table[base]
}

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
 * Whose cache rules a model follows: its row's `caching`; for a model missing from the table, OpenAI's
 * automatic rules for `gpt-*` / `o<digit>` ids and Anthropic's otherwise.
 *
 * @since 0.2.0
 * @category utils
 */
export const cachingOf = (table: PriceTable, model: string): Caching =>
  rowOf(table, model)?.caching ?? (/^(gpt-|o\d|chatgpt-)/.test(model) ? "openai-automatic" : "anthropic")

/**
 * Whether a model is OpenAI's (its cache rules are).
 *
 * @since 0.2.0
 * @category utils
 */
export const isOpenAIModel = (table: PriceTable, model: string): boolean => cachingOf(table, model) !== "anthropic"

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
): {
  readonly maxOutputTokens?: number | undefined
  readonly contextWindow?: number | undefined
  readonly extraFields?: ReadonlyArray<string> | undefined
} => {
  const price = rowOf(table, model)
  const extraFields = isOpenAIModel(table, model) ? OPENAI_FIELDS : undefined
  return price === undefined ? { extraFields } : { maxOutputTokens: price.maxOutputTokens, contextWindow: price.contextWindow, extraFields }
}

/**
 * The request fields of OpenAI's that ride along on a request to an OpenAI model (the OpenAI provider
 * passes them through to Chat Completions).
 *
 * @since 0.2.0
 * @category constants
 */
export const OPENAI_FIELDS: ReadonlyArray<string> = [
  "prompt_cache_key",
  "prompt_cache_options",
  "prompt_cache_retention",
  "reasoning_effort",
  "service_tier",
  "seed",
  "user",
  "safety_identifier",
  "response_format",
  "top_p",
  "frequency_penalty",
  "presence_penalty",
  "store",
  "verbosity"
]

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
