/**
 * `run`: one configuration on a workload, a report on stdout.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { renderText } from "../bench/Report.js"
import * as Runner from "../bench/Runner.js"
import type * as CacheWarmer from "../CacheWarmer.js"
import type * as SimulatedProvider from "../simulator/SimulatedProvider.js"
import { listenFailure, RequestsFailed, UsageError } from "./CliError.js"
import { serveMetrics } from "./MetricsServer.js"
import { progressLine } from "./Progress.js"
import type { ProviderName } from "./Providers.js"
import { clocked, keyManagement, loadPrices, loadWorkload, providerLayer } from "./Providers.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Args {
  readonly workload: string
  readonly provider: ProviderName
  readonly warming: CacheWarmer.Policy
  readonly pruning: Runner.PruningStrategy
  readonly method?: CacheWarmer.Method | undefined
  readonly keepAlive: boolean
  readonly model: Option.Option<string>
  readonly prices: Option.Option<string>
  readonly json: boolean
  readonly metricsPort: Option.Option<number>
  /** idle gaps × this (default 1) */
  readonly timeScale?: number | undefined
  readonly faults?: SimulatedProvider.Faults | undefined
  /** OpenAI models: `prompt_cache_key` management (default sharded) */
  readonly promptCacheKey?: "sharded" | "single" | "off" | undefined
}

/**
 * Flags that mean something under `--warming auto` only: given with another policy, they would be
 * ignored in silence.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkFlags = (cmd: Pick<Args, "warming" | "method" | "keepAlive">): Effect.Effect<void, UsageError> => {
  if (cmd.warming === "auto") return Effect.void
  if (cmd.keepAlive) {
    return Effect.fail(new UsageError({ detail: `--keep-alive works with --warming auto only (got --warming ${cmd.warming})` }))
  }
  if (cmd.method !== undefined) {
    return Effect.fail(
      new UsageError({ detail: `--method chooses how --warming auto establishes a prefix; it does nothing with --warming ${cmd.warming}` })
    )
  }
  return Effect.void
}

/**
 * `run`: one configuration, a report on stdout.
 *
 * @since 0.1.0
 * @category commands
 */
export const handle = (cmd: Args) =>
  Effect.gen(function*() {
    yield* checkFlags(cmd)
    const prices = yield* loadPrices(cmd.prices)
    const workload = yield* loadWorkload(cmd.workload, cmd.model, prices)
    if (Option.isSome(cmd.metricsPort)) {
      const port = yield* serveMetrics(cmd.metricsPort.value).pipe(
        Effect.mapError((e) => new UsageError({ detail: `--metrics-port ${cmd.metricsPort.pipe(Option.getOrThrow)}: ${listenFailure(e.cause)}` }))
      )
      yield* Console.error(`metrics on http://127.0.0.1:${port}/metrics`)
    }
    const options: Runner.RunOptions = {
      warming: cmd.warming,
      pruning: cmd.pruning,
      method: cmd.method,
      keepAlive: cmd.keepAlive,
      prices,
      provider: cmd.provider,
      simulatedTime: cmd.provider === "simulated",
      idleScale: cmd.timeScale ?? 1,
      // against the real API the registry is shared with every other process through REDIS_URL; the
      // simulator's cache lives and dies with this run, so a shared registry would only mislead it
      redisUrl: cmd.provider !== "simulated" && process.env.REDIS_URL ? process.env.REDIS_URL : undefined
    }
    const provider = providerLayer(cmd.provider, { faults: cmd.faults, openaiKeys: keyManagement(cmd.promptCacheKey) })
    const result = yield* clocked(
      cmd.provider,
      Runner.run(workload, options, provider, progressLine, (partial) =>
        Console.error(`\ninterrupted; partial report:\n${cmd.json ? JSON.stringify(partial, null, 2) : renderText(partial)}`))
    )
    yield* Console.log(cmd.json ? JSON.stringify(result.report, null, 2) : renderText(result.report))
    if (result.report.failedRequests > 0) {
      return yield* Effect.fail(
        new RequestsFailed({
          failed: result.report.failedRequests,
          byError: result.report.details.failuresByError,
          first: result.report.details.firstError
        })
      )
    }
  }).pipe(Effect.scoped)
