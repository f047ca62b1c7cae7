/**
 * The establishing lock: which process may establish a cold prefix. In one process the CacheWarmer's
 * own gates serialize callers, so the local layer always grants the lock; across replicas
 * (`WarmRegistry.layerRedis`) it is a Redis key taken with `SET NX PX` and a random token, released
 * only by its owner (compare and delete), expiring by itself if the owner dies.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/**
 * @since 0.1.0
 * @category models
 */
export interface PrefixLockService {
  /** `Some(token)` when this process may establish the prefix; `None` when another holds it */
  readonly acquire: (key: string, ttlMs: number) => Effect.Effect<Option.Option<string>>
  /** releases the lock if `token` still owns it */
  readonly release: (key: string, token: string) => Effect.Effect<void>
  /** whether the lock is shared with other processes (waiting for it then means polling) */
  readonly shared: boolean
}

/**
 * @since 0.1.0
 * @category tags
 */
export class PrefixLock extends Context.Tag("effect-prompt-cache/PrefixLock")<PrefixLock, PrefixLockService>() {}

/**
 * In one process: always granted (the warmer's gates already serialize).
 *
 * @since 0.1.0
 * @category constructors
 */
export const local: PrefixLockService = {
  acquire: () => Effect.succeed(Option.some("local")),
  release: () => Effect.void,
  shared: false
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layerLocal: Layer.Layer<PrefixLock> = Layer.succeed(PrefixLock, local)
