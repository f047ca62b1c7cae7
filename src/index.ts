/**
 * effect-prompt-cache: cache-aware pruning, single-flight cache warming and honest cost metrics for
 * LLM prompt caching, as composable Effect layers.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AnthropicProvider from "./AnthropicProvider.js"
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
export * as Pricing from "./Pricing.js"
/** @since 0.1.0 */
export * as Program from "./Program.js"
/** @since 0.1.0 */
export * as Prompt from "./Prompt.js"
/** @since 0.1.0 */
export * as PromptValidation from "./PromptValidation.js"
/** @since 0.1.0 */
export * as ProviderError from "./ProviderError.js"
/** @since 0.1.0 */
export * as Report from "./Report.js"
/** @since 0.1.0 */
export * as Response from "./Response.js"
/** @since 0.1.0 */
export * as RetryPolicy from "./RetryPolicy.js"
/** @since 0.1.0 */
export * as Runner from "./Runner.js"
/** @since 0.1.0 */
export * as SimulatedProvider from "./SimulatedProvider.js"
/** @since 0.1.0 */
export * as SimulatorServer from "./SimulatorServer.js"
/** @since 0.1.0 */
export * as TokenCounter from "./TokenCounter.js"
/** @since 0.1.0 */
export * as VirtualTime from "./VirtualTime.js"
/** @since 0.1.0 */
export * as WarmRegistry from "./WarmRegistry.js"
/** @since 0.1.0 */
export * as Workload from "./Workload.js"
