/**
 * `proxy`: the caching proxy in front of the real APIs (or any upstream), until interrupted.
 *
 * @since 0.2.0
 */
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import * as RedisLoader from "../bench/RedisLoader.js"
import * as CacheMetrics from "../CacheMetrics.js"
import * as Pricing from "../Pricing.js"
import * as Proxy from "../proxy/Proxy.js"
import * as WarmRegistry from "../WarmRegistry.js"
import { listenFailure, UsageError } from "./CliError.js"
import { serveMetricsIfAsked } from "./MetricsServer.js"
import { loadPrices } from "./Providers.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Args {
  readonly port: number
  readonly host: string
  readonly anthropicUpstream: string
  readonly openaiUpstream: string
  readonly maxWaitMs: number
  readonly graceMs: number
  readonly maxConcurrentPerTenant: Option.Option<number>
  readonly metricsPort: Option.Option<number>
  readonly logFormat: "text" | "json"
  readonly streamLeaders: boolean
  readonly prices: Option.Option<string>
}

/** one access-log line: JSON, or a readable line with the same fields */
const render = (format: Args["logFormat"]) => (line: Proxy.AccessLine): string => {
  if (format === "json") return JSON.stringify(line)
  const t = line.tokens
  const tokens = t === undefined ? "-" : `in ${t.input} write ${t.cacheWrite} read ${t.cacheRead} out ${t.output}`
  const cost = line.costUsd === undefined ? "-" : `$${line.costUsd.toFixed(6)}`
  return `${line.method} ${line.path} ${line.model ?? "-"} ${line.status} ${line.gate} ${tokens} ${cost} ${line.latencyMs}ms`
}

// an empty value is no value (CI and shells set variables to "" to unset them)
const secretConfig = Config.option(Config.nonEmptyString("PROXY_TENANT_SECRET").pipe(Config.map(Redacted.make)))
const redisConfig = Config.option(Config.nonEmptyString("REDIS_URL"))

/**
 * @since 0.2.0
 * @category commands
 */
export const handle = (cmd: Args) =>
  Effect.gen(function*() {
    const prices = yield* loadPrices(cmd.prices)
    const configured = yield* Effect.mapError(secretConfig, (e) => new UsageError({ detail: `PROXY_TENANT_SECRET: ${String(e)}` }))
    const redisUrl = Option.getOrUndefined(yield* Effect.orElseSucceed(redisConfig, () => Option.none<string>()))
    if (Option.isNone(configured) && redisUrl !== undefined) {
      // tenants must hash alike on every replica, or replicas would never share a gate
      return yield* Effect.fail(new UsageError({ detail: "REDIS_URL is set: set PROXY_TENANT_SECRET too, the same on every replica" }))
    }
    const secret = Option.getOrElse(configured, () => Redacted.make(randomBytes(32).toString("hex")))
    const registry = redisUrl === undefined ? WarmRegistry.layerMemory() : RedisLoader.layer({ url: redisUrl })
    const print = render(cmd.logFormat)
    const proxy = Layer.scoped(
      Proxy.Proxy,
      Proxy.make({
        port: cmd.port,
        host: cmd.host,
        anthropicUpstream: cmd.anthropicUpstream,
        openaiUpstream: cmd.openaiUpstream,
        maxWaitMs: cmd.maxWaitMs,
        graceMs: cmd.graceMs,
        maxConcurrentPerTenant: Option.getOrUndefined(cmd.maxConcurrentPerTenant),
        streamLeaders: cmd.streamLeaders,
        tenantSecret: secret,
        onAccess: (line) => Console.error(print(line))
      }).pipe(Effect.mapError((e) => new UsageError({ detail: `cannot listen on ${cmd.host}:${cmd.port}: ${listenFailure(e.cause)}` })))
    ).pipe(
      Layer.provideMerge(Layer.mergeAll(CacheMetrics.layer, registry)),
      Layer.provideMerge(Pricing.layer(prices))
    )
    yield* Effect.gen(function*() {
      const p = yield* Proxy.Proxy
      yield* Console.log(
        [
          `caching proxy on ${p.url} → Anthropic ${cmd.anthropicUpstream}, OpenAI ${cmd.openaiUpstream}; Ctrl-C to stop`,
          `  Anthropic SDKs, Claude Code, LangChain, curl: ANTHROPIC_BASE_URL=${p.url}`,
          `  Vercel AI SDK (@ai-sdk/anthropic):            baseURL ${p.url}/v1`,
          `  OpenAI SDKs:                                  OPENAI_BASE_URL=${p.url}/v1`,
          `  registry: ${redisUrl === undefined ? "in this process" : "shared on Redis (REDIS_URL)"}; one access-log line per request on stderr`
        ].join("\n")
      )
      yield* serveMetricsIfAsked(cmd.metricsPort)
      return yield* Effect.never
    }).pipe(Effect.provide(proxy), Effect.scoped)
  })
