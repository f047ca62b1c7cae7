/**
 * The `@effect/ai` wing: single-flight cache warming and cache metrics for apps written on
 * `@effect/ai` (`LanguageModel.generateText`, `generateObject`, `Chat`), under any provider layer.
 *
 * @since 0.3.0
 */

/**
 * @since 0.3.0
 */
export * as Translation from "./Translation.js"

/**
 * @since 0.3.0
 */
export * as WarmingLanguageModel from "./WarmingLanguageModel.js"
