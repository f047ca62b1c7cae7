/**
 * The Redis wing: one warm registry and establishing lock shared by every replica.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as RedisRegistry from "./RedisRegistry.js"
