/**
 * `serve`: the simulator as a local Anthropic-compatible API, until interrupted.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheMetrics from "../CacheMetrics.js"
import type { LanguageModelService } from "../LanguageModel.js"
import { LanguageModel } from "../LanguageModel.js"
import * as Pricing from "../Pricing.js"
import type { MessagesRequest } from "../Prompt.js"
import type { Usage } from "../Response.js"
import * as SimulatedProvider from "../simulator/SimulatedProvider.js"
import * as SimulatorServer from "../simulator/SimulatorServer.js"
import { serveMetricsIfAsked } from "./MetricsServer.js"
import { listenFailure, UsageError } from "./CliError.js"
import { parseFaults } from "./Providers.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Args {
  readonly port: number
  readonly host: string
  readonly faults: Option.Option<string>
  readonly apiKey: Option.Option<string>
  readonly metricsPort: Option.Option<number>
  /** the largest request body accepted (default 32 MiB, the API's) */
  readonly maxBodyBytes?: number | undefined
}

/** the simulator's model with every call recorded in CacheMetrics (for `serve --metrics-port`) */
const metered = Layer.effect(
  LanguageModel,
  Effect.gen(function*() {
    const lm = yield* LanguageModel
    const metrics = yield* CacheMetrics.CacheMetrics
    const record = (request: MessagesRequest) => (r: { usage: Usage }, ms: number) =>
      metrics.recordCall({ call: request.max_tokens === 0 ? "warm" : "request", model: request.model, usage: r.usage, latencyMs: ms })
    const service: LanguageModelService = {
      provider: lm.provider,
      create: (request) =>
        Effect.timed(lm.create(request)).pipe(
          Effect.tap(([d, r]) => record(request)(r, Duration.toMillis(d)))
        ).pipe(Effect.map(([, r]) => r)),
      // a streamed call is recorded when it completes, with the time from its start
      stream: (request) =>
        Stream.unwrap(Effect.map(Clock.currentTimeMillis, (startedAt) =>
          lm.stream(request).pipe(
            Stream.tap((e) =>
              e._tag === "Completed"
                ? Effect.flatMap(Clock.currentTimeMillis, (now) => record(request)(e.response, now - startedAt))
                : Effect.void
            )
          )))
    }
    return service
  })
)

/**
 * `serve`: the simulator as a local Anthropic-compatible server, until interrupted.
 *
 * @since 0.1.0
 * @category commands
 */
export const handle = (cmd: Args) =>
  Effect.gen(function*() {
    const faults = Option.isSome(cmd.faults) ? yield* parseFaults(cmd.faults.value) : {}
    // a long-running server keeps no request bodies or keys, and a bounded call log
    const sim = SimulatedProvider.layer({ faults, callLogLimit: 1_000 })
    const model = metered.pipe(Layer.provideMerge(sim), Layer.provideMerge(CacheMetrics.layer), Layer.provide(Pricing.layerDefault))
    const server = Layer.scoped(
      SimulatorServer.SimulatorServer,
      SimulatorServer.make({
        receivedLimit: 0,
        maxBodyBytes: cmd.maxBodyBytes,
        port: cmd.port,
        host: cmd.host,
        apiKey: Option.getOrUndefined(cmd.apiKey)
      }).pipe(Effect.mapError((e) => new UsageError({ detail: `cannot listen on ${cmd.host}:${cmd.port}: ${listenFailure(e.cause)}` })))
    ).pipe(Layer.provide(model))
    yield* Effect.gen(function*() {
      const s = yield* SimulatorServer.SimulatorServer
      yield* Console.log(
        [
          `simulated Anthropic and OpenAI APIs on ${s.url}; Ctrl-C to stop`,
          `  official SDKs, LangChain, curl:  ANTHROPIC_BASE_URL=${s.url}`,
          `  Vercel AI SDK (@ai-sdk/anthropic): baseURL ${s.url}/v1`,
          `  OpenAI SDKs (gpt-* models):       OPENAI_BASE_URL=${s.url}/v1`,
          `  ${Option.isSome(cmd.apiKey) ? "only the --api-key given is accepted" : "any key is accepted, but one is required"}, and anthropic-version, as by the API`
        ].join("\n")
      )
      yield* serveMetricsIfAsked(cmd.metricsPort)
      return yield* Effect.never
    }).pipe(Effect.provide(server), Effect.scoped)
  })
