/**
 * The warm registry and the establishing lock on Redis, shared by every replica of a service: one
 * warm per prefix across all of them.
 *
 * - known-warm-until: `PREFIX:warm:<fingerprint>` = until (epoch ms), with a matching expiry; raised,
 *   never lowered, by a small Lua script;
 * - the establishing lock: `PREFIX:lock:<fingerprint>` = a random token, `SET NX PX`; released by
 *   compare-and-delete so only its owner can release it; a crashed owner's lock expires by itself.
 *
 * If Redis cannot be reached, each operation falls back to an in-process registry and lock (with one
 * warning): requests are never failed or delayed by Redis being down.
 *
 * Client: ioredis (see docs/distributed.md for the choice).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import type { PrefixLockService } from "../PrefixLock.js"
import * as PrefixLock from "../PrefixLock.js"
import type { WarmRegistryService } from "../WarmRegistry.js"
import * as WarmRegistry from "../WarmRegistry.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RedisOptions {
  /** `redis://host:port/db` */
  readonly url: string
  /** key prefix (default `epc`) */
  readonly keyPrefix?: string | undefined
  /** per-command timeout before falling back (default 500 ms) */
  readonly commandTimeoutMs?: number | undefined
  /** bound of the in-process fallback registry (default 10,000) */
  readonly fallbackMaxEntries?: number | undefined
}

const RAISE = `local cur = tonumber(redis.call('GET', KEYS[1]))
if (not cur) or cur < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1`

const COMPARE_AND_DELETE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`

/**
 * Builds the registry and the lock over one Redis connection, closed with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: RedisOptions) =>
  Effect.gen(function*() {
    const prefix = options.keyPrefix ?? "epc"
    const timeout = options.commandTimeoutMs ?? 500
    const client = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new Redis(options.url, {
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 1_000,
          commandTimeout: timeout,
          retryStrategy: (times) => Math.min(times * 200, 2_000)
        })
      ),
      (c) => Effect.sync(() => c.disconnect())
    )
    // connection errors are handled per command (fallback); keep ioredis from printing them
    client.on("error", () => {})
    const fallback = yield* WarmRegistry.makeMemory({ maxEntries: options.fallbackMaxEntries })
    let warned = false
    // connect before the first command (commands are not queued while disconnected); if Redis is down
    // now, start on the fallback: ioredis keeps reconnecting in the background
    yield* Effect.tryPromise(() => client.connect()).pipe(
      Effect.timeout("2 seconds"),
      Effect.catchAll((e) =>
        Effect.logWarning(
          `Redis unavailable at start (${String((e as { error?: unknown }).error ?? e)}); using an in-process registry and lock until it is back`
        ).pipe(Effect.tap(() => Effect.sync(() => void (warned = true))))
      )
    )
    const withFallback = <A>(op: string, run: () => Promise<A>, orElse: Effect.Effect<A>): Effect.Effect<A> =>
      Effect.tryPromise(run).pipe(
        Effect.catchAll((e) =>
          Effect.zipRight(
            warned ? Effect.void : Effect.logWarning(
              `Redis unavailable (${op}: ${String((e as { error?: unknown }).error ?? e)}); using an in-process registry and lock until it is back`
            ).pipe(Effect.tap(() => Effect.sync(() => void (warned = true)))),
            orElse
          )
        )
      )
    const warmKey = (fp: string) => `${prefix}:warm:${fp}`
    const lockKey = (fp: string) => `${prefix}:lock:${fp}`

    const registry: WarmRegistryService = {
      warmUntil: (fp) =>
        withFallback("GET", () => client.get(warmKey(fp)), Effect.as(fallback.warmUntil(fp), null)).pipe(
          Effect.flatMap((v) =>
            v === null
              ? fallback.warmUntil(fp)
              : Effect.map(Clock.currentTimeMillis, (now) => {
                const until = Number(v)
                return until > now ? Option.some(until) : Option.none()
              })
          )
        ),
      markWarm: (fp, until) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          withFallback(
            "markWarm",
            () => client.eval(RAISE, 1, warmKey(fp), String(until), String(Math.max(1, Math.ceil(until - now)))),
            Effect.as(fallback.markWarm(fp, until), 0)
          )).pipe(Effect.asVoid),
      markCold: (fp) =>
        withFallback("DEL", () => client.del(warmKey(fp)), Effect.as(fallback.markCold(fp), 0)).pipe(
          Effect.zipRight(fallback.markCold(fp))
        ),
      size: withFallback("SCAN", async () => {
        let cursor = "0"
        let n = 0
        do {
          const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}:warm:*`, "COUNT", 1000)
          cursor = next
          n += keys.length
        } while (cursor !== "0")
        return n
      }, fallback.size)
    }

    const lock: PrefixLockService = {
      shared: true,
      acquire: (key, ttlMs) => {
        const token = randomUUID()
        return withFallback(
          "SET NX",
          () => client.set(lockKey(key), token, "PX", Math.max(1, Math.ceil(ttlMs)), "NX"),
          Effect.succeed("OK" as const)
        ).pipe(Effect.map((r) => (r === "OK" ? Option.some(token) : Option.none())))
      },
      release: (key, token) =>
        withFallback("release", () => client.eval(COMPARE_AND_DELETE, 1, lockKey(key), token), Effect.succeed(0)).pipe(
          Effect.asVoid
        )
    }
    return { registry, lock, client }
  })

/**
 * The registry and the lock on Redis.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: RedisOptions): Layer.Layer<WarmRegistry.WarmRegistry | PrefixLock.PrefixLock> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ lock, registry }) =>
      Context.make(WarmRegistry.WarmRegistry, registry).pipe(Context.add(PrefixLock.PrefixLock, lock)))
  )

/**
 * The registry and the lock on Redis, from configuration: each option a `Config` of the caller's
 * choosing, e.g. `RedisRegistry.layerConfig({ url: Config.string("REDIS_URL") })`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<RedisOptions>
): Layer.Layer<WarmRegistry.WarmRegistry | PrefixLock.PrefixLock, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))

/**
 * Redis when the `url` config is set (by default `REDIS_URL`), else the in-process registry and lock.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfigOrMemory = (
  url: Config.Config<string> = Config.nonEmptyString("REDIS_URL"),
  memory: WarmRegistry.MemoryOptions = {}
): Layer.Layer<WarmRegistry.WarmRegistry | PrefixLock.PrefixLock, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(Config.option(url), (url) =>
      Option.match(url, {
        onNone: () => Layer.merge(WarmRegistry.layerMemory(memory), PrefixLock.layerLocal),
        onSome: (u) => layer({ url: u })
      }))
  )
