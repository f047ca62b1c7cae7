/**
 * Establishes each cold prompt prefix exactly once, then lets every other request read it.
 *
 * Requests that need the same cold prefix are serialized by a per-prefix gate: one establishing call
 * goes out (the *leader*), the others wait and are released the moment the cache is readable. Two ways
 * to establish a prefix:
 * - `first-request`: the first real request itself is streamed and the waiters are released when its
 *   response begins (no extra call at all);
 * - `warm-call`: a `max_tokens: 0` request over the shared prefix, then release.
 *
 * Warming is skipped, and the skip counted with its reason, when the prefix is known warm, is below
 * the model's minimum cacheable length, or will be used by one request only (a lone request writes
 * the cache itself; warming it only adds a call).
 *
 * Failure never fails a request: if the establishing call fails after its retries, the waiters run
 * uncached; if the leader is interrupted, a waiter takes over. Permits and gates are released on every
 * exit path.
 *
 * Policies: `off` (naive parallel), `always` (the seed note's pattern: a warm call before every fan-out,
 * warm or not), `auto` (the default: the gate, the skip rules and the `first-request` method).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Planned, PlannedBreakpoint } from "./BreakpointPlanner.js"
import { toPlanned } from "./BreakpointPlanner.js"
import type { SkipReason } from "./CacheMetrics.js"
import { CacheMetrics } from "./CacheMetrics.js"
import * as GateTable from "./internal/gateTable.js"
import * as KeepAlive from "./internal/keepAlive.js"
import * as ReplicaLock from "./internal/replicaLock.js"
import * as Sender from "./internal/sender.js"
import * as MissDiagnosis from "./MissDiagnosis.js"
import { annotate, PromptCache, shortFingerprint, withSpan } from "./Telemetry.js"
import { LanguageModel, scopedKey } from "./LanguageModel.js"
import { local as localLock, PrefixLock } from "./PrefixLock.js"
import { Pricing, writeMultiplier } from "./Pricing.js"
import type { MessagesRequest } from "./Prompt.js"
import type { ProviderError } from "./ProviderError.js"
import type { Response, Usage } from "./Response.js"
import type { RetrySchedule } from "./RetryPolicy.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { isWarm, ttlMillis, WarmRegistry, warmAt } from "./WarmRegistry.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Policy = "off" | "always" | "auto"

/**
 * @since 0.1.0
 * @category models
 */
export type Method = "first-request" | "warm-call"

/**
 * Keep-alive: refresh a prefix with steady traffic shortly before its TTL ends.
 *
 * A refresh costs a read of the prefix (0.1×); a miss costs a rewrite at the entry's TTL (1.25× for
 * 5m, 2× for 1h; the model's own multipliers where its price row has them). With `λ` the observed
 * request rate (from the mean gap between recent requests, or the time since the last one, whichever
 * is longer), the chance of another request within the TTL is `p = 1 − exp(−TTL·λ)`; a refresh is
 * sent when `p × (write − read) > read`, i.e. when it is expected to pay, and at most `maxIdleRefreshes`
 * times in a row without a real request in between. It stops when traffic stops.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeepAliveOptions {
  /** refresh this long before the entry would expire (default 30 s) */
  readonly leadMs?: number | undefined
  /** refreshes in a row with no request in between (default 3) */
  readonly maxIdleRefreshes?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WarmerConfig {
  readonly policy?: Policy | undefined
  /** how `auto` establishes a prefix (default `first-request`) */
  readonly method?: Method | undefined
  /** warm calls in flight at most, to protect rate limits (default 4) */
  readonly maxConcurrentWarms?: number | undefined
  /** how long waiters wait for a leader before they run uncached (default 60 s) */
  readonly maxWaitMs?: number | undefined
  /** retries of every call (default `RetryPolicy.exponentialBackoff()`) */
  readonly retry?: RetrySchedule | undefined
  /** a prefix counts as warm only if it stays warm this much longer (default 5 s) */
  readonly safetyMarginMs?: number | undefined
  /** opt-in keep-alive of prefixes with steady traffic (`auto` only) */
  readonly keepAlive?: KeepAliveOptions | false | undefined
  /** with a shared PrefixLock (Redis): how long an establishing lock lives if its owner dies (default 30 s) */
  readonly lockTtlMs?: number | undefined
}

/**
 * What an explicit warm did.
 *
 * @since 0.1.0
 * @category models
 */
export type WarmOutcome =
  | { readonly _tag: "Skipped"; readonly reason: SkipReason }
  | { readonly _tag: "Warmed"; readonly usage: Usage }
  /** joined another caller's warm of the same prefix, which succeeded */
  | { readonly _tag: "Joined" }
  /**
   * joined another caller's warm, which failed (or did not finish within `maxWaitMs`): the prefix may
   * be cold; the requests that follow still establish it single-flight, through the gate
   */
  | { readonly _tag: "JoinedFailed" }
  | { readonly _tag: "Failed"; readonly error: ProviderError }

/**
 * Requests sharing one prefix.
 *
 * @since 0.1.0
 * @category models
 */
export interface FanOut {
  /**
   * the shared prefix as a request: its last shared block carries the breakpoint (a planner's
   * {@link Planned} request is taken as it is; a plain request's breakpoints are read from it)
   */
  readonly shared: MessagesRequest | Planned
  /** the requests, each = the shared prefix + its own suffix, breakpoints placed */
  readonly requests: ReadonlyArray<MessagesRequest | Planned>
  /** requests in flight at once (default unbounded) */
  readonly concurrency?: number | "unbounded" | undefined
  /**
   * the conversation the calls are of, for the miss diagnosis (it compares each call with the
   * conversation's previous one); default: the fiber's `MissDiagnosis.currentConversation`
   */
  readonly conversation?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FanOutResult {
  /** per request, in order */
  readonly responses: ReadonlyArray<Either.Either<Response, ProviderError>>
  /** what establishing the prefix did: skipped (with the reason), a warm call, or joined another's */
  readonly warm: WarmOutcome | undefined
}

/**
 * For leak checks: what the warmer holds right now.
 *
 * @since 0.1.0
 * @category models
 */
export interface WarmerState {
  readonly gates: number
  readonly warmsInFlight: number
  readonly keepAlives: number
  /** conversations whose last prompt the miss diagnosis keeps (until `forgetConversation`) */
  readonly conversations: number
}

/**
 * What the gate did with one request: sent it at once (nothing cold, or nothing to gate), made it the
 * leader that establishes its cold prefix, let it wait for another leader and go when the prefix was
 * readable, or let it wait and go uncached (the leader failed, or `maxWaitMs` passed).
 *
 * @since 0.2.0
 * @category models
 */
export type GateOutcome = "direct" | "led" | "waited" | "waited-uncached"

/**
 * @since 0.1.0
 * @category models
 */
export interface CacheWarmerService {
  readonly policy: Policy
  /** one request, through the per-prefix gate (`auto`) or directly (`off`, `always`) */
  readonly request: (request: MessagesRequest | Planned) => Effect.Effect<Response, ProviderError>
  /** {@link request}, with `onGate` told what the gate did with it (for access logs) */
  readonly requestObserved: (
    request: MessagesRequest | Planned,
    onGate: (outcome: GateOutcome) => void
  ) => Effect.Effect<Response, ProviderError>
  /** an explicit warm of a shared prefix, with the skip rules */
  readonly warm: (shared: MessagesRequest | Planned) => Effect.Effect<WarmOutcome>
  /** a fan-out: establish the prefix per policy, then run the requests; never fails as a whole */
  readonly fanOut: (input: FanOut) => Effect.Effect<FanOutResult>
  readonly state: Effect.Effect<WarmerState>
  /** a prefix fingerprint as the key the warmer keeps it under (with the provider's cache scope) */
  readonly warmKey: (fingerprint: string) => string
  /**
   * the conversation whose shared prefix ends at `fingerprint` has ended: keep-alive stops refreshing
   * it (a user who has left sends nothing more; a refresh would be a read paid for nothing)
   */
  readonly release: (fingerprint: string) => Effect.Effect<void>
  /**
   * the conversation has ended: what the warmer keeps of it goes (the miss diagnosis's copy of its
   * last prompt, which a long service would otherwise keep for its last 10,000 conversations)
   */
  readonly forgetConversation: (conversation: string) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class CacheWarmer extends Context.Tag("effect-prompt-cache/CacheWarmer")<CacheWarmer, CacheWarmerService>() {}

/**
 * The shared request cut at its tools-and-system breakpoint, as a warm call sends it (one `.` user
 * message): the prefix every conversation over the same prompt shares.
 */
const systemOnly = (shared: Planned, system: PlannedBreakpoint): Planned => ({
  request: { ...shared.request, max_tokens: 0, messages: [{ role: "user", content: "." }] },
  breakpoints: shared.breakpoints.filter((b) => b.index <= system.index)
})

/**
 * Runs effects at once, each in a child fiber of the caller (interrupted with it), results in order.
 * What `Effect.forEach` with unbounded concurrency does, with less bookkeeping: about 15 µs for three
 * effects against 40 µs (docs/benchmarks.md, Node 20), and a fan-out runs it every turn.
 */
const concurrently = <A>(effects: ReadonlyArray<Effect.Effect<A>>): Effect.Effect<Array<A>> =>
  effects.length === 1
    ? Effect.map(effects[0]!, (a) => [a])
    : Effect.flatMap(Effect.forEach(effects, Effect.fork), (fibers) => Effect.forEach(fibers, Fiber.join))

const keysOf = (bps: ReadonlyArray<PlannedBreakpoint>): ReadonlyArray<string> => bps.map((b) => b.fingerprint)

/**
 * Builds a warmer: its gate table, the cross-replica lock and keep-alive are pieces of their own
 * (`internal/gateTable`, `internal/replicaLock`, `internal/keepAlive`); their fibers live in the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: WarmerConfig = {}) =>
  Effect.gen(function*() {
    const lm = yield* LanguageModel
    const metrics = yield* CacheMetrics
    const registry = yield* WarmRegistry
    const pricing = yield* Pricing
    const policy = config.policy ?? "auto"
    const method = config.method ?? "first-request"
    const schedule = config.retry ?? RetryPolicy.exponentialBackoff()
    const margin = config.safetyMarginMs ?? 5_000
    const maxWaitMs = config.maxWaitMs ?? 60_000
    const warmPermits = yield* Effect.makeSemaphore(config.maxConcurrentWarms ?? 4)
    const gates = yield* GateTable.make(maxWaitMs)
    const acrossReplicas = ReplicaLock.make({
      lock: Option.getOrElse(yield* Effect.serviceOption(PrefixLock), () => localLock),
      registry,
      maxWaitMs,
      lockTtlMs: config.lockTtlMs ?? 30_000
    })
    let warmsInFlight = 0

    const warmKey = (fingerprint: string) => scopedKey(lm, fingerprint)
    const scoped = lm.cacheScope !== undefined && lm.cacheScope !== ""
    /**
     * the request's breakpoints that can cache something (the model's minimum is the price table's),
     * keyed in the provider's cache scope: gates, registry, replica lock and keep-alive all see them so
     */
    const cacheable = (planned: Planned): ReadonlyArray<PlannedBreakpoint> => {
      const min = pricing.minCacheableTokens(planned.request.model)
      const bps = planned.breakpoints.filter((b) => b.cumulativeTokens >= min)
      return scoped ? bps.map((b) => ({ ...b, fingerprint: warmKey(b.fingerprint) })) : bps
    }

    // the registry read synchronously when it is in this process: a decision is then one step
    const view = registry.unsafeWarmUntil
    const coldAt = (bps: ReadonlyArray<PlannedBreakpoint>, now: number, view: NonNullable<typeof registry.unsafeWarmUntil>) =>
      keysOf(bps.filter((b) => !warmAt(view(b.fingerprint, now), now, margin)))
    const coldOf = (bps: ReadonlyArray<PlannedBreakpoint>): Effect.Effect<ReadonlyArray<string>> =>
      view !== undefined
        ? Effect.clockWith((clock) => Effect.sync(() => coldAt(bps, clock.unsafeCurrentTimeMillis(), view)))
        : Effect.map(Effect.filter(bps, (b) => Effect.map(isWarm(registry, b.fingerprint, margin), (w) => !w)), keysOf)

    const ledger = MissDiagnosis.makeLedger()
    const send = Sender.make({ lm, metrics, pricing, registry, schedule, ledger })

    /**
     * The check of the gates and the opening of a gate are one synchronous step (`gates.decide`), so
     * two callers can never both lead one key. With an in-process registry the reads are part of that
     * step; with a registry that is I/O (Redis) they come before it, and a prefix another caller has
     * just established may still read cold: that caller then leads a request that reads the cache
     * (a streamed request or a warm call too many, never a second write of the prefix it found warm).
     */
    const decide = (bps: ReadonlyArray<PlannedBreakpoint>): Effect.Effect<GateTable.Decision> =>
      view !== undefined
        ? Effect.clockWith((clock) => Effect.sync(() => gates.decide(coldAt(bps, clock.unsafeCurrentTimeMillis(), view))))
        : Effect.flatMap(coldOf(bps), (cold) => Effect.sync(() => gates.decide(cold)))

    /**
     * Runs `lead` if this caller must establish the prefix of `bps`, after waiting for whoever is
     * establishing it already; `direct` otherwise (warm, waited, leader failed, or waited too long).
     */
    const gated = <A, E>(
      bps: ReadonlyArray<PlannedBreakpoint>,
      direct: Effect.Effect<A, E>,
      lead: (keys: ReadonlyArray<string>, gate: GateTable.Gate) => Effect.Effect<A, E>,
      onJoin?: { readonly ready: Effect.Effect<A, E>; readonly failed: Effect.Effect<A, E> },
      onGate?: (outcome: GateOutcome) => void
    ): Effect.Effect<A, E> =>
      // the decision is taken uninterruptibly and a leader's gates are released on every exit
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(decide(bps), (decision): Effect.Effect<A, E> => {
          switch (decision._tag) {
            case "Direct":
              onGate?.("direct")
              return restore(direct)
            case "Lead":
              onGate?.("led")
              return restore(acrossReplicas(decision.keys, lead(decision.keys, decision.gate))).pipe(
                Effect.onExit((exit) =>
                  gates.release(
                    decision.keys,
                    decision.gate,
                    Exit.isSuccess(exit) ? "ready" : Exit.isInterrupted(exit) ? "abandoned" : "failed"
                  )
                )
              )
            case "Wait":
              // the watchdog bounds the wait: the gate is released "failed" after maxWaitMs; a leader
              // that was interrupted abandons it, and the decision is taken again
              return restore(Effect.flatMap(Deferred.await(decision.gate), (outcome) => {
                if (outcome === "abandoned") return gated(bps, direct, lead, onJoin, onGate)
                onGate?.(outcome === "ready" ? "waited" : "waited-uncached")
                return onJoin === undefined ? direct : outcome === "ready" ? onJoin.ready : onJoin.failed
              }))
          }
        })
      )

    const gatedRequest = (
      input: MessagesRequest | Planned,
      onGate?: (outcome: GateOutcome) => void,
      conversation?: string
    ): Effect.Effect<Response, ProviderError> => {
      const planned = toPlanned(input)
      const request = planned.request
      const bps = cacheable(planned)
      const direct = send(request, bps, { stream: false, conversation })
      if (policy !== "auto" || bps.length === 0) {
        onGate?.("direct")
        return direct.pipe(withRequestSpan(bps, "direct", undefined))
      }
      // what the gate did, and how long the request waited at it, go on the request's span
      return Effect.clockWith((clock) => {
        const arrived = clock.unsafeCurrentTimeMillis()
        let outcome: GateOutcome = "direct"
        let waitedMs: number | undefined
        const observed = (o: GateOutcome) => {
          outcome = o
          if (o === "waited" || o === "waited-uncached") waitedMs = clock.unsafeCurrentTimeMillis() - arrived
          onGate?.(o)
        }
        return gated(
          bps,
          direct,
          (keys, gate) => send(request, bps, { stream: true, onBegun: gates.release(keys, gate, "ready"), conversation }),
          undefined,
          observed
        ).pipe(withRequestSpan(bps, () => outcome, () => waitedMs))
      })
    }

    /**
     * What the gate did with a request, into the metrics, and for a waiter that read its prefix what
     * the waiting saved: the 5-minute write of what it read that it did not pay, minus the read.
     */
    const recordGate = (gate: GateOutcome, exit: Exit.Exit<Response, unknown>) => {
      if (gate !== "waited" || exit._tag === "Failure" || exit.value.usage.cacheRead === 0) return metrics.recordGate(gate)
      const price = pricing.lookup(exit.value.model)
      if (Option.isNone(price)) return metrics.recordGate(gate)
      const m = pricing.multipliers(exit.value.model)
      return metrics.recordGate(gate, price.value.input * exit.value.usage.cacheRead * (m.write5m - m.read))
    }

    /**
     * A request's span (the prefix it asks to cache, by fingerprint; what the gate did; the wait), and
     * the gate's outcome into the metrics — one step at the request's end.
     */
    const withRequestSpan = (
      bps: ReadonlyArray<PlannedBreakpoint>,
      outcome: GateOutcome | (() => GateOutcome),
      waitedMs: (() => number | undefined) | undefined
    ) =>
    <E, R>(self: Effect.Effect<Response, E, R>): Effect.Effect<Response, E, R> =>
      self.pipe(
        Effect.onExit((exit) => {
          const gate = typeof outcome === "function" ? outcome() : outcome
          const wait = waitedMs?.()
          return Effect.zipRight(
            annotate(() => ({ [PromptCache.gate]: gate, ...(wait !== undefined ? { [PromptCache.waitMs]: wait } : {}) })),
            recordGate(gate, exit)
          )
        }),
        withSpan("prompt_cache.request", () => ({
          attributes: {
            [PromptCache.breakpoints]: bps.length,
            ...(bps.length > 0
              ? { [PromptCache.fingerprint]: shortFingerprint(bps[bps.length - 1]!.fingerprint), [PromptCache.ttl]: bps[bps.length - 1]!.ttl }
              : {})
          }
        }))
      )

    const warmCall = (shared: Planned, bps: ReadonlyArray<PlannedBreakpoint>, conversation?: string) =>
      warmPermits.withPermits(1)(
        Effect.acquireUseRelease(
          Effect.sync(() => void warmsInFlight++),
          () => send({ ...shared.request, max_tokens: 0, stream: false }, bps, { stream: false, conversation }),
          () => Effect.sync(() => void warmsInFlight--)
        )
      )

    /** the skip rule that applies to a shared prefix, if any */
    const skipReason = (shared: Planned, uses: number): Effect.Effect<Option.Option<SkipReason>> => {
      if (policy === "off") return Effect.succeed(Option.some("warming_off"))
      if (shared.breakpoints.length === 0) return Effect.succeed(Option.some("no_breakpoint"))
      const bps = cacheable(shared)
      if (bps.length === 0) return Effect.succeed(Option.some("below_minimum"))
      if (policy === "always") return Effect.succeed(Option.none())
      return Effect.map(coldOf(bps), (cold): Option.Option<SkipReason> =>
        cold.length === 0
          ? Option.some("known_warm")
          : uses < 2
          ? Option.some("single_request")
          : Option.none())
    }

    const toOutcome = (e: Either.Either<Response, ProviderError>): WarmOutcome =>
      Either.match(e, {
        onLeft: (error) => ({ _tag: "Failed", error }),
        onRight: (r) => ({ _tag: "Warmed", usage: r.usage })
      })

    /** a warm call over `shared`; single-flight per prefix under `auto` */
    const establish = (shared: Planned, conversation?: string): Effect.Effect<WarmOutcome> => {
      const bps = cacheable(shared)
      if (policy !== "auto") return Effect.map(Effect.either(warmCall(shared, bps, conversation)), toOutcome)
      // the leader's warm call fails as an effect, so that its gate is released "failed", and its
      // waiters learn that the warm they joined did not happen
      return gated<WarmOutcome, ProviderError>(
        bps,
        // nothing cold any more: someone else's request established it since the skip rules looked
        Effect.as(metrics.recordSkippedWarm("known_warm"), { _tag: "Skipped", reason: "known_warm" }),
        (keys, gate) =>
          Effect.map(Effect.tap(warmCall(shared, bps, conversation), () => gates.release(keys, gate, "ready")), (r) => ({
            _tag: "Warmed",
            usage: r.usage
          })),
        { ready: Effect.succeed({ _tag: "Joined" }), failed: Effect.succeed({ _tag: "JoinedFailed" }) }
      ).pipe(Effect.catchAll((error) => Effect.succeed<WarmOutcome>({ _tag: "Failed", error })))
    }

    const warm = (shared: Planned, uses = 2): Effect.Effect<WarmOutcome> =>
      Effect.gen(function*() {
        const skip = yield* skipReason(shared, uses)
        if (Option.isSome(skip)) {
          yield* metrics.recordSkippedWarm(skip.value)
          return { _tag: "Skipped", reason: skip.value } as WarmOutcome
        }
        return yield* establish(shared)
      }).pipe(withWarmSpan(shared))

    /** establishing a shared prefix: its span says what happened (warmed, joined, skipped and why, failed) */
    const withWarmSpan = (shared: Planned) => <O extends WarmOutcome | undefined>(self: Effect.Effect<O>): Effect.Effect<O> =>
      self.pipe(
        Effect.tap((outcome) =>
          outcome === undefined ? Effect.void : annotate(() => ({
            [PromptCache.warm]: outcome._tag,
            ...(outcome._tag === "Skipped" ? { [PromptCache.skipReason]: outcome.reason } : {})
          }))
        ),
        withSpan("prompt_cache.establish", () => ({
          attributes: {
            [PromptCache.warming]: policy,
            [PromptCache.breakpoints]: shared.breakpoints.length,
            ...(shared.breakpoints.length > 0 ? { [PromptCache.fingerprint]: shortFingerprint(shared.breakpoints.at(-1)!.fingerprint) } : {})
          }
        }))
      )

    const keepAliveOptions = config.keepAlive === false || config.keepAlive === undefined || policy !== "auto"
      ? undefined
      : config.keepAlive
    const keepAlive = keepAliveOptions === undefined ? undefined : yield* KeepAlive.make<Planned>(
      {
        leadMs: keepAliveOptions.leadMs ?? 30_000,
        maxIdleRefreshes: keepAliveOptions.maxIdleRefreshes ?? 3
      },
      registry,
      (shared) => Effect.map(Effect.either(warmCall(shared, cacheable(shared))), Either.isRight)
    )

    /**
     * Keep-alive watches a shared prefix from when the requests have written or read it: the
     * conversation's (its last breakpoint), and the tools-and-system prefix every conversation over the
     * same prompt shares — counted only for the calls that read that entry itself and no further (a
     * new conversation over a prompt someone else wrote), so a conversation reading its own longer
     * prefix does not keep it alive, and users who arrive minutes apart do.
     */
    const trackTraffic = (
      shared: Planned,
      responses: ReadonlyArray<Either.Either<Response, ProviderError>>
    ): Effect.Effect<void> => {
      if (keepAlive === undefined) return Effect.void
      const bps = cacheable(shared)
      const last = bps[bps.length - 1]
      if (last === undefined) return Effect.void
      // a refresh costs a read; the miss it prevents, a write at the entry's TTL
      const m = pricing.multipliers(shared.request.model)
      const breakEvenAt = (ttl: PlannedBreakpoint["ttl"]) => m.read / (writeMultiplier(m, ttl) - m.read)
      const conversation = keepAlive.track(last.fingerprint, ttlMillis(last.ttl), breakEvenAt(last.ttl), shared)
      const system = bps.find((b) => b.role === "system")
      if (system === undefined || system === last) return conversation
      const used = responses.some((r) =>
        Either.isRight(r) && r.right.usage.cacheRead > 0 && r.right.usage.cacheRead <= system.cumulativeTokens
      )
      if (!used) return conversation
      return Effect.zipRight(
        conversation,
        keepAlive.track(system.fingerprint, ttlMillis(system.ttl), breakEvenAt(system.ttl), systemOnly(shared, system))
      )
    }

    const fanOut = (input: FanOut): Effect.Effect<FanOutResult> => {
      const shared = toPlanned(input.shared)
      const each = (r: MessagesRequest | Planned) => Effect.either(gatedRequest(r, undefined, input.conversation))
      const concurrency = input.concurrency ?? "unbounded"
      const requests = concurrency === "unbounded"
        ? concurrently(input.requests.map(each))
        : Effect.forEach(input.requests, each, { concurrency })
      return skipReason(shared, input.requests.length).pipe(
        Effect.flatMap((skip): Effect.Effect<WarmOutcome | undefined> => {
          if (Option.isSome(skip)) {
            return Effect.as(metrics.recordSkippedWarm(skip.value), { _tag: "Skipped", reason: skip.value })
          }
          return policy === "always" || method === "warm-call" ? establish(shared, input.conversation) : Effect.succeed(undefined)
        }),
        withWarmSpan(shared),
        Effect.flatMap((warm) =>
          Effect.map(
            Effect.tap(requests, (responses) => trackTraffic(shared, responses)),
            (responses): FanOutResult => ({ responses, warm })
          )
        )
      )
    }

    const service: CacheWarmerService = {
      policy,
      request: (input) => gatedRequest(input),
      requestObserved: gatedRequest,
      warm: (shared) => warm(toPlanned(shared)),
      fanOut,
      state: Effect.sync(() => ({
        gates: gates.size(),
        warmsInFlight,
        keepAlives: keepAlive?.size() ?? 0,
        conversations: ledger.conversations()
      })),
      warmKey,
      release: (fingerprint) => keepAlive === undefined ? Effect.void : keepAlive.release(warmKey(fingerprint)),
      forgetConversation: (conversation) => Effect.sync(() => ledger.forget(conversation))
    }
    return service
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: WarmerConfig = {}
): Layer.Layer<CacheWarmer, never, LanguageModel | CacheMetrics | WarmRegistry | Pricing> =>
  Layer.scoped(CacheWarmer, make(config))
