/**
 * One provider call as the warmer sends it: with retries (the caller's schedule, each retry counted),
 * its metrics (warm or request, by `max_tokens: 0`) and the registry updated from its cache usage —
 * when a streamed response begins, else when it completes. `onBegun` runs once, when the response of
 * the attempt that succeeds has begun (streamed calls only).
 */
import * as Effect from "effect/Effect"
import type { PlannedBreakpoint } from "../BreakpointPlanner.js"
import type { CacheMetricsService } from "../CacheMetrics.js"
import type { LanguageModelService } from "../LanguageModel.js"
import { streamedResponse } from "../LanguageModel.js"
import type { MessagesRequest } from "../Prompt.js"
import type { ProviderError } from "../ProviderError.js"
import type { Response } from "../Response.js"
import type { RetrySchedule } from "../RetryPolicy.js"
import * as RetryPolicy from "../RetryPolicy.js"
import type { WarmRegistryService } from "../WarmRegistry.js"
import { observe } from "../WarmRegistry.js"

/** @internal */
export interface SenderOptions {
  readonly lm: LanguageModelService
  readonly metrics: CacheMetricsService
  readonly registry: WarmRegistryService
  readonly schedule: RetrySchedule
}

/** @internal */
export type Send = (
  request: MessagesRequest,
  bps: ReadonlyArray<PlannedBreakpoint>,
  options: { readonly stream: boolean; readonly onBegun?: Effect.Effect<unknown> | undefined }
) => Effect.Effect<Response, ProviderError>

/** @internal */
export const make = ({ lm, metrics, registry, schedule }: SenderOptions): Send =>
(
  request: MessagesRequest,
  bps: ReadonlyArray<PlannedBreakpoint>,
  options: { readonly stream: boolean; readonly onBegun?: Effect.Effect<unknown> | undefined }
): Effect.Effect<Response, ProviderError> => {
  const kind = request.max_tokens === 0 ? "warm" : "request"
  // once per call, so written as few effects as it takes (times read from the fiber's clock)
  return Effect.clockWith((clock) => {
    let sentAt = 0
    let begunAt: number | undefined
    let observedAtBegun = false
    const attempt = Effect.suspend(() => {
      sentAt = clock.unsafeCurrentTimeMillis()
      observedAtBegun = false
      if (!options.stream) return lm.create(request)
      return streamedResponse(lm, { ...request, stream: true }, (usage) =>
        Effect.suspend(() => {
          begunAt = clock.unsafeCurrentTimeMillis()
          // a provider that reports usage only at the end (OpenAI) updates the registry then
          observedAtBegun = usage !== undefined
          const registered = usage === undefined ? Effect.void : observe(registry, bps, usage, sentAt)
          return options.onBegun === undefined ? registered : Effect.zipRight(registered, Effect.asVoid(options.onBegun))
        }))
    })
    return RetryPolicy.retry(attempt, schedule, (e) => metrics.recordRetry(kind, e._tag)).pipe(
      Effect.tapError((error) => metrics.recordFailure(kind, error._tag)),
      Effect.tap((response) =>
        Effect.suspend(() => {
          const recorded = metrics.recordCall({
            call: kind,
            model: request.model,
            usage: response.usage,
            writesUnknown: response.usageUnknown?.includes("cacheWrite") === true,
            latencyMs: clock.unsafeCurrentTimeMillis() - sentAt,
            timeToBegunMs: begunAt === undefined ? undefined : begunAt - sentAt
          })
          // a streamed call updated the registry when its response began (same cache usage)
          return !observedAtBegun
            ? Effect.zipRight(observe(registry, bps, response.usage, sentAt), recorded)
            : recorded
        })
      )
    )
  })
}
