/**
 * effect-prompt-cache: cache-aware pruning, single-flight cache warming and honest cost metrics for
 * LLM prompt caching, as composable Effect layers.
 *
 * The core: prune → plan → warm → request → metrics over any `LanguageModel`. Providers and drivers
 * are wings of their own, each at its own subpath: `effect-prompt-cache/anthropic`,
 * `effect-prompt-cache/simulator`, `effect-prompt-cache/redis`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as BreakpointPlanner from "./BreakpointPlanner.js"

/** @since 0.1.0 */
export * as CacheMetrics from "./CacheMetrics.js"

/** @since 0.1.0 */
export * as CacheWarmer from "./CacheWarmer.js"

/** @since 0.1.0 */
export * as ContextPruner from "./ContextPruner.js"

/** @since 0.1.0 */
export * as LanguageModel from "./LanguageModel.js"

/** @since 0.1.0 */
export * as Pipeline from "./Pipeline.js"

/** @since 0.1.0 */
export * as Prefix from "./Prefix.js"

/** @since 0.1.0 */
export * as PrefixLock from "./PrefixLock.js"

/** @since 0.1.0 */
export * as Pricing from "./Pricing.js"

/** @since 0.1.0 */
export * as Prompt from "./Prompt.js"

/** @since 0.1.0 */
export * as PromptValidation from "./PromptValidation.js"

/** @since 0.1.0 */
export * as ProviderError from "./ProviderError.js"

/** @since 0.1.0 */
export * as Response from "./Response.js"

/** @since 0.1.0 */
export * as RetryPolicy from "./RetryPolicy.js"

/** @since 0.1.0 */
export * as Telemetry from "./Telemetry.js"

/**
 * @since 0.1.0
 */
export * as TokenCounter from "./TokenCounter.js"

/** @since 0.1.0 */
export * as WarmRegistry from "./WarmRegistry.js"
