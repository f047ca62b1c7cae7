/**
 * The Redis wing, loaded only when a run asks for it: `ioredis` is an optional peer dependency, so the
 * program must start (and run on the in-process registry) where it is not installed.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PrefixLock from "../PrefixLock.js"
import type { RedisOptions } from "../redis/RedisRegistry.js"
import * as WarmRegistry from "../WarmRegistry.js"

/**
 * `RedisRegistry.layer(options)`, imported when the layer is built. Without `ioredis` the run goes on
 * with the in-process registry and lock, after one warning that says how to install it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: RedisOptions): Layer.Layer<WarmRegistry.WarmRegistry | PrefixLock.PrefixLock> =>
  Layer.unwrapEffect(
    Effect.tryPromise(() => import("../redis/RedisRegistry.js")).pipe(
      Effect.map((redis) => redis.layer(options)),
      Effect.catchAll(() =>
        Effect.as(
          Effect.logWarning("REDIS_URL is set but the optional peer dependency ioredis is not installed (npm install ioredis): using an in-process registry"),
          Layer.merge(WarmRegistry.layerMemory(), PrefixLock.layerLocal)
        )
      )
    )
  )
