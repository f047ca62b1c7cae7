/**
 * One provider call as the warmer sends it: with retries (the caller's schedule, each retry counted),
 * its metrics (warm or request, by `max_tokens: 0`) and the registry updated from its cache usage —
 * when a streamed response begins, else when it completes. `onBegun` runs once, when the response of
 * the attempt that succeeds has begun (streamed calls only).
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { PlannedBreakpoint } from "../BreakpointPlanner.js"
import type { CacheMetricsService } from "../CacheMetrics.js"
import type { LanguageModelService } from "../LanguageModel.js"
import { streamedResponse } from "../LanguageModel.js"
import * as MissDiagnosis from "../MissDiagnosis.js"
import { positions, samePrompt } from "../Prefix.js"
import type { MessagesRequest } from "../Prompt.js"
import type { PricingService } from "../Pricing.js"
import { costMicros, microsToUsd } from "../Pricing.js"
import type { ProviderError } from "../ProviderError.js"
import type { Response } from "../Response.js"
import type { RetrySchedule } from "../RetryPolicy.js"
import * as RetryPolicy from "../RetryPolicy.js"
import { annotate, event, GenAi, PromptCache, providerName, shortFingerprint, tracingWith, usageAttributes, withSpan } from "../Telemetry.js"
import type { WarmRegistryService } from "../WarmRegistry.js"
import { observe } from "../WarmRegistry.js"
import { LruMap } from "./lru.js"

/**
 * The request with `stream: true`: the same prompt, its positions (computed for the ledger) reused.
 * `{ stream, ...request }` when it has no `stream`: V8 (Node 20) takes ~1 µs per property added after
 * a spread, once per streamed call.
 */
const streamedCopy = (request: MessagesRequest): MessagesRequest => {
  const streamed = "stream" in request ? { ...request, stream: true } : { stream: true, ...request }
  samePrompt(streamed, positions(request))
  return streamed
}

/** @internal */
export interface SenderOptions {
  readonly lm: LanguageModelService
  readonly metrics: CacheMetricsService
  readonly registry: WarmRegistryService
  readonly schedule: RetrySchedule
  /** prices each call's cost into its span */
  readonly pricing?: PricingService | undefined
  /** the miss diagnosis's ledger (default: a fresh one) */
  readonly ledger?: MissDiagnosis.Ledger | undefined
}

/** what a call's answer adds to its span: its usage (a write the provider did not report left out), its cost */
const responseAttributes = (response: Response, pricing: PricingService | undefined): Record<string, unknown> => {
  const attributes: Record<string, unknown> = usageAttributes(response.usage)
  if (response.id !== "") attributes[GenAi.responseId] = response.id
  const writesUnknown = response.usageUnknown?.includes("cacheWrite") === true
  if (writesUnknown) delete attributes[GenAi.cacheCreationInputTokens]
  const price = pricing?.lookup(response.model)
  if (!writesUnknown && price !== undefined && Option.isSome(price)) {
    attributes[PromptCache.costUsd] = microsToUsd(costMicros(response.usage, price.value))
  }
  return attributes
}

/** what a call's misses add to its span: the main reason, where, and the tokens of all reasons */
const missAttributes = (misses: ReadonlyArray<MissDiagnosis.Miss>): Record<string, unknown> => {
  const main = MissDiagnosis.dominant(misses)
  if (main === undefined) return {}
  return {
    [PromptCache.missReason]: main.reason,
    ...(main.where !== undefined ? { [PromptCache.missWhere]: main.where } : {}),
    [PromptCache.missedTokens]: misses.reduce((n, m) => n + m.tokens, 0)
  }
}

/** what the API's cache diagnosis is compared with: what this sender sent, by response id */
type Prints = LruMap<string, MissDiagnosis.RequestPrint>

/**
 * The API's diagnosis of a call that asked for one, and whether it is what the API's documented
 * comparison gives on what this sender sent (undefined: nothing to compare — not asked, the API's
 * comparison pending, or the previous request not sent from here).
 */
const apiDiagnosisOf = (prints: Prints, request: MessagesRequest, response: Response) => {
  const asked = (request as { readonly diagnostics?: unknown }).diagnostics
  if (typeof asked !== "object" || asked === null) return undefined
  const print = MissDiagnosis.printOf(request)
  if (response.id !== "") prints.set(response.id, print)
  const previousId = (asked as { readonly previous_message_id?: unknown }).previous_message_id
  const previous = typeof previousId === "string" ? prints.get(previousId) : undefined
  const reason = response.diagnosis === undefined ? "none" : response.diagnosis.reason
  if (previous === undefined || reason === null) return undefined
  const expected = MissDiagnosis.compareWithPrevious(previous, print)?.reason ?? "none"
  return { reason: knownReasons.has(reason) ? reason : "other", agrees: expected === reason }
}

const knownReasons = new Set([
  "none", "model_changed", "system_changed", "tools_changed", "messages_changed", "previous_message_not_found", "unavailable"
])

/** @internal */
export interface SendOptions {
  readonly stream: boolean
  readonly onBegun?: Effect.Effect<unknown> | undefined
  /** the conversation the call is of (default: the fiber's `MissDiagnosis.currentConversation`) */
  readonly conversation?: string | undefined
}

/** @internal */
export type Send = (
  request: MessagesRequest,
  bps: ReadonlyArray<PlannedBreakpoint>,
  options: SendOptions
) => Effect.Effect<Response, ProviderError>

/** @internal */
export const make = ({ ledger = MissDiagnosis.makeLedger(), lm, metrics, pricing, registry, schedule }: SenderOptions): Send => {
  const prints: Prints = new LruMap(10_000)
  const minTokensOf = (model: string) => {
    const price = pricing?.lookup(model)
    return price !== undefined && Option.isSome(price) ? price.value.minCacheableTokens : 0
  }
  return (
  request: MessagesRequest,
  bps: ReadonlyArray<PlannedBreakpoint>,
  options: SendOptions
): Effect.Effect<Response, ProviderError> => {
  const kind = request.max_tokens === 0 ? "warm" : "request"
  // once per call, so written as few effects as it takes (times read from the fiber's clock; the span,
  // its event and attributes made only when spans are made)
  return tracingWith((traced) => Effect.clockWith((clock) => {
    let sentAt = 0
    let begunAt: number | undefined
    let observedAtBegun = false
    let ticket: MissDiagnosis.Ticket | undefined
    let misses: ReadonlyArray<MissDiagnosis.Miss> = []
    let apiDiagnosis: { readonly reason: string; readonly agrees: boolean } | undefined
    // one span per attempt, named as the GenAI conventions name a call; retries are siblings
    const chatSpan = !traced ? undefined : withSpan(`chat ${request.model}`, () => ({
      kind: "client",
      attributes: {
        [GenAi.operationName]: "chat",
        [GenAi.providerName]: providerName(lm.provider),
        [GenAi.requestModel]: request.model,
        [GenAi.requestMaxTokens]: request.max_tokens,
        [PromptCache.call]: kind,
        [PromptCache.breakpoints]: bps.length,
        ...(bps.length > 0 ? { [PromptCache.fingerprint]: shortFingerprint(bps[bps.length - 1]!.fingerprint) } : {})
      }
    }))
    const attempt = Effect.withFiberRuntime<Response, ProviderError>((fiber) => {
      const conversation = options.conversation ?? fiber.getFiberRef(MissDiagnosis.currentConversation)
      sentAt = clock.unsafeCurrentTimeMillis()
      begunAt = undefined
      observedAtBegun = false
      ticket = ledger.send(MissDiagnosis.sentOf(request, minTokensOf(request.model), sentAt, conversation))
      if (!options.stream) return lm.create(request)
      return streamedResponse(lm, streamedCopy(request), (usage) =>
        Effect.suspend(() => {
          begunAt = clock.unsafeCurrentTimeMillis()
          if (ticket !== undefined) ledger.begun(ticket)
          // a provider that reports usage only at the end (OpenAI) updates the registry then
          observedAtBegun = usage !== undefined
          const registered = usage === undefined ? Effect.void : observe(registry, bps, usage, sentAt)
          const signalled = options.onBegun === undefined ? registered : Effect.zipRight(registered, Effect.asVoid(options.onBegun))
          // the time to first byte, as an event of the attempt's span
          return traced ? Effect.zipRight(event("response_begun", clock.unsafeCurrentTimeNanos()), signalled) : signalled
        }))
    }).pipe(
      // a failed or interrupted attempt is no writer in flight any more; a successful one is diagnosed
      Effect.onExit((exit) => {
        if (exit._tag === "Failure") return Effect.sync(() => ticket !== undefined && ledger.begun(ticket))
        const response = exit.value
        misses = ticket === undefined
          ? []
          : MissDiagnosis.withContextEdits(
            ledger.settle(ticket, response.usage, begunAt ?? clock.unsafeCurrentTimeMillis()),
            (response.contextEdits ?? []).reduce((n, e) => n + e.clearedInputTokens, 0)
          )
        apiDiagnosis = apiDiagnosisOf(prints, request, response)
        if (!traced) return Effect.void
        return annotate(() => ({
          ...responseAttributes(response, pricing),
          ...missAttributes(misses),
          ...(apiDiagnosis !== undefined
            ? { [PromptCache.apiMissReason]: apiDiagnosis.reason, [PromptCache.apiMissAgrees]: apiDiagnosis.agrees }
            : {})
        }))
      }),
      (self) => (chatSpan === undefined ? self : chatSpan(self))
    )
    return RetryPolicy.retry(attempt, schedule, (e) => metrics.recordRetry(kind, e._tag)).pipe(
      Effect.tapBoth({
        onFailure: (error) => metrics.recordFailure(kind, error._tag),
        onSuccess: (response) => {
          const recorded = metrics.recordCall({
            call: kind,
            model: request.model,
            usage: response.usage,
            writesUnknown: response.usageUnknown?.includes("cacheWrite") === true,
            latencyMs: clock.unsafeCurrentTimeMillis() - sentAt,
            timeToBegunMs: begunAt === undefined ? undefined : begunAt - sentAt,
            misses,
            apiDiagnosis
          })
          // a streamed call updated the registry when its response began (same cache usage)
          return !observedAtBegun
            ? Effect.zipRight(observe(registry, bps, response.usage, sentAt), recorded)
            : recorded
        }
      })
    )
  }))
}
}
