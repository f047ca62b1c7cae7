/**
 * The Anthropic wing: the SDK client as a service, the `LanguageModel` and `TokenCounter` layers
 * over it, and the same on Claude's cloud platforms (AWS Bedrock, Google Vertex AI) through
 * Anthropic's official platform clients.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AnthropicClient from "./AnthropicClient.js"

/** @since 0.1.0 */
export * as AnthropicProvider from "./AnthropicProvider.js"

/** @since 0.2.0 */
export * as Bedrock from "./Bedrock.js"

/** @since 0.2.0 */
export * as Vertex from "./Vertex.js"
