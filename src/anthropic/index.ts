/**
 * The Anthropic wing: the SDK client as a service, and the `LanguageModel` and `TokenCounter`
 * layers over it.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AnthropicClient from "./AnthropicClient.js"

/** @since 0.1.0 */
export * as AnthropicProvider from "./AnthropicProvider.js"
