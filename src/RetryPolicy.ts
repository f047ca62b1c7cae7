/**
 * Retry schedules for provider calls. Retries are ours, never the SDK's: the Anthropic layer sets the
 * SDK's `maxRetries: 0`.
 *
 * The default policy: exponential back-off from `baseDelayMs` with jitter, each delay capped at
 * `maxDelayMs` but never shorter than the server's `retry-after`, at most `maxRetries` retries and
 * `maxElapsedMs` in all, and only for retryable errors (429, 529, 5xx, timeouts, connection failures);
 * request errors fail at once.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import type { ProviderError } from "./ProviderError.js"
import { isRetryable, retryAfterMs } from "./ProviderError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /** retries after the first attempt (default 4) */
  readonly maxRetries?: number | undefined
  /** first back-off delay (default 500 ms) */
  readonly baseDelayMs?: number | undefined
  /** cap on one back-off delay; a longer `retry-after` still wins (default 30 s) */
  readonly maxDelayMs?: number | undefined
  /** total time budget for the retries (default 120 s) */
  readonly maxElapsedMs?: number | undefined
  /** randomize delays (0.8×–1.2×) to spread retries; default true */
  readonly jitter?: boolean | undefined
}

/**
 * A retry schedule: its input is the error of the failed attempt.
 *
 * @since 0.1.0
 * @category models
 */
export type RetrySchedule = Schedule.Schedule<unknown, ProviderError>

/**
 * @since 0.1.0
 * @category constants
 */
export const defaults: { readonly [K in keyof RetryOptions]-?: NonNullable<RetryOptions[K]> } = {
  maxRetries: 4,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxElapsedMs: 120_000,
  jitter: true
}

/**
 * The default schedule, from options.
 *
 * @since 0.1.0
 * @category schedules
 */
export const exponentialBackoff = (options: RetryOptions = {}): RetrySchedule => {
  const o = {
    maxRetries: options.maxRetries ?? defaults.maxRetries,
    baseDelayMs: options.baseDelayMs ?? defaults.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? defaults.maxDelayMs,
    maxElapsedMs: options.maxElapsedMs ?? defaults.maxElapsedMs,
    jitter: options.jitter ?? defaults.jitter
  }
  const backoff = Schedule.exponential(Duration.millis(o.baseDelayMs), 2)
  const jittered = o.jitter ? Schedule.jittered(backoff) : backoff
  return jittered.pipe(
    Schedule.intersect(Schedule.identity<ProviderError>()),
    Schedule.modifyDelay(([, error], delay) => {
      const capped = Math.min(Duration.toMillis(delay), o.maxDelayMs)
      return Duration.millis(Math.max(capped, retryAfterMs(error) ?? 0))
    }),
    Schedule.whileInput(isRetryable),
    Schedule.intersect(Schedule.recurs(o.maxRetries)),
    Schedule.upTo(Duration.millis(o.maxElapsedMs))
  )
}

/**
 * A schedule that never retries.
 *
 * @since 0.1.0
 * @category schedules
 */
export const none: RetrySchedule = Schedule.stop

/**
 * Retries `effect` on `schedule`, calling `onRetry` with the error each time a retry is decided
 * (so retries can be counted), and never for the final failure.
 *
 * @since 0.1.0
 * @category combinators
 */
export const retry = <A, R, R2 = never>(
  effect: Effect.Effect<A, ProviderError, R>,
  schedule: RetrySchedule,
  onRetry: (error: ProviderError) => Effect.Effect<void, never, R2> = () => Effect.void as Effect.Effect<void, never, R2>
): Effect.Effect<A, ProviderError, R | R2> =>
  // the first attempt runs bare: the schedule (and its driver) is built only once an attempt has
  // failed — most calls succeed first time, and this runs once per call
  Effect.catchAll(effect, (first) =>
    Effect.flatMap(Schedule.driver(observing(schedule, onRetry)), (driver) => {
      const loop = (error: ProviderError): Effect.Effect<A, ProviderError, R | R2> =>
        Effect.matchEffect(driver.next(error), {
          onFailure: () => Effect.fail(error),
          onSuccess: () => Effect.catchAll(effect, loop)
        })
      return loop(first)
    }))

/** `schedule` with `onRetry` called with the error each time it decides to continue */
const observing = <R2>(schedule: RetrySchedule, onRetry: (error: ProviderError) => Effect.Effect<void, never, R2>) => {
  let last: ProviderError | undefined
  return Schedule.identity<ProviderError>().pipe(
    Schedule.tapInput((e: ProviderError) => Effect.sync(() => (last = e))),
    Schedule.intersect(schedule),
    Schedule.onDecision((_, decision) => ScheduleDecision.isContinue(decision) && last !== undefined ? onRetry(last) : Effect.void)
  )
}
