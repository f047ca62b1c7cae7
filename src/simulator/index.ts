/**
 * The simulator wing: a cache-faithful simulator of Anthropic's and OpenAI's prompt caches, its HTTP
 * server (both APIs), a virtual clock for simulated time, and the ready-made pipeline stack over it.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as SimulatedProvider from "./SimulatedProvider.js"

/** @since 0.1.0 */
export * as SimulatedPipeline from "./SimulatedPipeline.js"

/** @since 0.2.0 */
export * as SimulatedOpenAI from "./SimulatedOpenAI.js"

/** @since 0.1.0 */
export * as SimulatorServer from "./SimulatorServer.js"

/** @since 0.1.0 */
export * as VirtualTime from "./VirtualTime.js"

/** @since 0.4.0 */
export * as SharedRegistry from "./SharedRegistry.js"
