/**
 * The OpenAI wing: Chat Completions through the official `openai` SDK, `prompt_cache_key` management,
 * and the wire translations the simulator's server shares.
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 */
export * as ChatWire from "./ChatWire.js"

/**
 * @since 0.2.0
 */
export * as OpenAIClient from "./OpenAIClient.js"

/**
 * @since 0.2.0
 */
export * as OpenAIProvider from "./OpenAIProvider.js"

/**
 * @since 0.2.0
 */
export * as PromptCacheKeys from "./PromptCacheKeys.js"

/**
 * @since 0.2.0
 */
export * as Translation from "./Translation.js"
