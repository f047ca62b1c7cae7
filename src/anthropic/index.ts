/**
 * The Anthropic wing: the `LanguageModel` and `TokenCounter` layers over the official SDK.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AnthropicProvider from "./AnthropicProvider.js"
