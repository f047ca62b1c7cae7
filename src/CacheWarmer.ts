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
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type { SkipReason } from "./CacheMetrics.js"
import { CacheMetrics } from "./CacheMetrics.js"
import { LanguageModel, streamedResponse } from "./LanguageModel.js"
import type { Breakpoint } from "./Prefix.js"
import { breakpoints, positions } from "./Prefix.js"
import { Multipliers, Pricing } from "./Pricing.js"
import type { MessagesRequest } from "./Prompt.js"
import type { ProviderError } from "./ProviderError.js"
import type { Response, Usage } from "./Response.js"
import type { RetrySchedule } from "./RetryPolicy.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { local as localLock, PrefixLock } from "./PrefixLock.js"
import { isWarm, observe, ttlMillis, WarmRegistry, warmAt } from "./WarmRegistry.js"

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
 * A refresh costs a read (0.1×) of the prefix; a miss costs a rewrite (1.25×). With `λ` the observed
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
  /** the minimum cacheable prefix for a model missing from the price table (default 1,024) */
  readonly defaultMinTokens?: number | undefined
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
  | { readonly _tag: "Joined" }
  | { readonly _tag: "Failed"; readonly error: ProviderError }

/**
 * Requests sharing one prefix.
 *
 * @since 0.1.0
 * @category models
 */
export interface FanOut {
  /** the shared prefix as a request: its last shared block carries the breakpoint */
  readonly shared: MessagesRequest
  /** the requests, each = the shared prefix + its own suffix, breakpoints placed */
  readonly requests: ReadonlyArray<MessagesRequest>
  /** requests in flight at once (default unbounded) */
  readonly concurrency?: number | "unbounded" | undefined
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
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CacheWarmerService {
  readonly policy: Policy
  /** one request, through the per-prefix gate (`auto`) or directly (`off`, `always`) */
  readonly request: (request: MessagesRequest) => Effect.Effect<Response, ProviderError>
  /** an explicit warm of a shared prefix, with the skip rules */
  readonly warm: (shared: MessagesRequest) => Effect.Effect<WarmOutcome>
  /** a fan-out: establish the prefix per policy, then run the requests; never fails as a whole */
  readonly fanOut: (input: FanOut) => Effect.Effect<FanOutResult>
  readonly state: Effect.Effect<WarmerState>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class CacheWarmer extends Context.Tag("effect-prompt-cache/CacheWarmer")<CacheWarmer, CacheWarmerService>() {}

type GateOutcome = "ready" | "failed" | "abandoned"

interface KeepAliveState {
  readonly arrivals: Array<number>
  idleRefreshes: number
  running: boolean
  warm: MessagesRequest
  ttlMs: number
}

/**
 * Runs effects at once, each in a child fiber of the caller (interrupted with it), results in order.
 * What `Effect.forEach` with unbounded concurrency does, with less bookkeeping: about 15 µs for three
 * effects against 40 µs (docs/benchmarks.md, Node 20), and a fan-out runs it every turn.
 */
const concurrently = <A>(effects: ReadonlyArray<Effect.Effect<A>>): Effect.Effect<Array<A>> =>
  effects.length === 1
    ? Effect.map(effects[0]!, (a) => [a])
    : Effect.flatMap(Effect.forEach(effects, Effect.fork), (fibers) => Effect.forEach(fibers, Fiber.join))

/**
 * Builds a warmer. Its keep-alive fibers live in the scope.
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
    const prefixLock = Option.getOrElse(yield* Effect.serviceOption(PrefixLock), () => localLock)
    const lockTtlMs = config.lockTtlMs ?? 30_000
    const scope = yield* Effect.scope
    const policy = config.policy ?? "auto"
    const method = config.method ?? "first-request"
    const schedule = config.retry ?? RetryPolicy.exponentialBackoff()
    const margin = config.safetyMarginMs ?? 5_000
    const maxWaitMs = config.maxWaitMs ?? 60_000
    const keepAlive = config.keepAlive === false || config.keepAlive === undefined ? undefined : config.keepAlive
    const warmPermits = yield* Effect.makeSemaphore(config.maxConcurrentWarms ?? 4)
    const gates = new Map<string, Deferred.Deferred<GateOutcome>>()
    const keepAlives = new Map<string, KeepAliveState>()
    let warmsInFlight = 0

    const minTokens = (model: string) =>
      Option.match(pricing.lookup(model), {
        onNone: () => config.defaultMinTokens ?? 1024,
        onSome: (p) => p.minCacheableTokens
      })

    /** the request's breakpoints that can cache something */
    const cacheable = (request: MessagesRequest): ReadonlyArray<Breakpoint> => {
      const min = minTokens(request.model)
      return breakpoints(request, positions(request)).filter((b) => b.position.cumulativeTokens >= min)
    }
    const observed = (bps: ReadonlyArray<Breakpoint>) =>
      bps.map((b) => ({ fingerprint: b.position.fingerprint, ttl: b.ttl, cumulativeTokens: b.position.cumulativeTokens }))

    // the registry read synchronously when it is in this process: a decision is then one step
    const view = registry.unsafeWarmUntil
    const coldAt = (bps: ReadonlyArray<Breakpoint>, now: number, view: NonNullable<typeof registry.unsafeWarmUntil>) =>
      bps.filter((b) => !warmAt(view(b.position.fingerprint, now), now, margin))
    const coldOf = (bps: ReadonlyArray<Breakpoint>): Effect.Effect<ReadonlyArray<Breakpoint>> =>
      view !== undefined
        ? Effect.clockWith((clock) => Effect.sync(() => coldAt(bps, clock.unsafeCurrentTimeMillis(), view)))
        : Effect.filter(bps, (b) => Effect.map(isWarm(registry, b.position.fingerprint, margin), (w) => !w))

    /**
     * One call with retries, metrics and registry updates. `onBegun` runs once, when the response of
     * the attempt that succeeds has begun (streamed calls only).
     */
    const send = (
      request: MessagesRequest,
      bps: ReadonlyArray<Breakpoint>,
      options: { readonly stream: boolean; readonly onBegun?: Effect.Effect<void> | undefined }
    ): Effect.Effect<Response, ProviderError> => {
      const kind = request.max_tokens === 0 ? "warm" : "request"
      // once per call, so written as few effects as it takes (times read from the fiber's clock)
      return Effect.clockWith((clock) => {
        let sentAt = 0
        let begunAt: number | undefined
        const attempt = Effect.suspend(() => {
          sentAt = clock.unsafeCurrentTimeMillis()
          if (!options.stream) return lm.create(request)
          return streamedResponse(lm, { ...request, stream: true }, (usage) =>
            Effect.suspend(() => {
              begunAt = clock.unsafeCurrentTimeMillis()
              const registered = observe(registry, observed(bps), usage, sentAt)
              return options.onBegun === undefined ? registered : Effect.zipRight(registered, options.onBegun)
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
                latencyMs: clock.unsafeCurrentTimeMillis() - sentAt,
                timeToBegunMs: begunAt === undefined ? undefined : begunAt - sentAt
              })
              // a streamed call updated the registry when its response began (same cache usage)
              return begunAt === undefined
                ? Effect.zipRight(observe(registry, observed(bps), response.usage, sentAt), recorded)
                : recorded
            })
          )
        )
      })
    }

    /** releases a leader's gates: removes them first, so that woken waiters see the new state */
    const release = (keys: ReadonlyArray<string>, gate: Deferred.Deferred<GateOutcome>, outcome: GateOutcome) =>
      Effect.suspend(() => {
        for (const k of keys) if (gates.get(k) === gate) gates.delete(k)
        return Deferred.succeed(gate, outcome)
      })

    // One watchdog for all gates (not a timer per waiter, nor a fiber per gate): waiters are released
    // after `maxWaitMs` at the latest. Every gate gets the same wait, so deadlines come in the order the
    // gates were opened, and one fiber takes them in turn; releasing a gate already released does nothing.
    const deadlines = yield* Queue.unbounded<{ readonly at: number; readonly keys: ReadonlyArray<string>; readonly gate: Deferred.Deferred<GateOutcome> }>()
    yield* Effect.forkIn(
      Effect.forever(Effect.gen(function*() {
        const next = yield* Queue.take(deadlines)
        const now = yield* Clock.currentTimeMillis
        if (next.at > now) yield* Effect.sleep(Duration.millis(next.at - now))
        yield* release(next.keys, next.gate, "failed")
      })).pipe(
        // the warmer may be built in an uninterruptible region: its watchdog must still close with the scope
        Effect.interruptible
      ),
      scope
    )
    const openGate = (cold: ReadonlyArray<Breakpoint>, now: number): Decision => {
      const gate = Deferred.unsafeMake<GateOutcome>(FiberId.none)
      const keys = cold.map((b) => b.position.fingerprint)
      for (const k of keys) gates.set(k, gate)
      deadlines.unsafeOffer({ at: now + maxWaitMs, keys, gate })
      return { _tag: "Lead", keys, gate }
    }

    type Decision =
      | { readonly _tag: "Direct" }
      | { readonly _tag: "Wait"; readonly gate: Deferred.Deferred<GateOutcome> }
      | { readonly _tag: "Lead"; readonly keys: ReadonlyArray<string>; readonly gate: Deferred.Deferred<GateOutcome> }

    /** is the prefix cold, is someone establishing it (then wait), else take the lead */
    const decideAt = (cold: ReadonlyArray<Breakpoint>, now: number): Decision => {
      if (cold.length === 0) return { _tag: "Direct" }
      for (let i = cold.length - 1; i >= 0; i--) {
        const active = gates.get(cold[i]!.position.fingerprint)
        if (active !== undefined) return { _tag: "Wait", gate: active }
      }
      return openGate(cold, now)
    }

    /**
     * The check of the gates and the opening of a gate are one synchronous step (`decideAt`), so two
     * callers can never both lead one key. With an in-process registry the reads are part of that
     * step; with a registry that is I/O (Redis) they come before it, and a prefix another caller has
     * just established may still read cold: that caller then leads a request that reads the cache
     * (a streamed request or a warm call too many, never a second write of the prefix it found warm).
     */
    const decide = (bps: ReadonlyArray<Breakpoint>): Effect.Effect<Decision> =>
      view !== undefined
        ? Effect.clockWith((clock) =>
          Effect.sync(() => {
            const now = clock.unsafeCurrentTimeMillis()
            return decideAt(coldAt(bps, now, view), now)
          })
        )
        : Effect.flatMap(coldOf(bps), (cold) =>
          Effect.clockWith((clock) => Effect.sync(() => decideAt(cold, clock.unsafeCurrentTimeMillis()))))

    /**
     * Runs `lead` if this caller must establish the prefix of `bps`, after waiting for whoever is
     * establishing it already; `direct` otherwise (warm, waited, leader failed, or waited too long).
     */
    const gated = <A, E>(
      bps: ReadonlyArray<Breakpoint>,
      direct: Effect.Effect<A, E>,
      lead: (keys: ReadonlyArray<string>, gate: Deferred.Deferred<GateOutcome>) => Effect.Effect<A, E>,
      onJoin?: Effect.Effect<A, E>
    ): Effect.Effect<A, E> =>
      // the decision is taken uninterruptibly and a leader's gates are released on every exit
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(decide(bps), (decision): Effect.Effect<A, E> => {
          switch (decision._tag) {
            case "Direct":
              return restore(direct)
            case "Lead":
              return restore(leadAcrossReplicas(decision.keys, decision.gate, lead)).pipe(
                Effect.onExit((exit) =>
                  release(
                    decision.keys,
                    decision.gate,
                    Exit.isSuccess(exit) ? "ready" : Exit.isInterrupted(exit) ? "abandoned" : "failed"
                  )
                )
              )
            case "Wait":
              // the watchdog bounds the wait: the gate is released "failed" after maxWaitMs; a leader
              // that was interrupted abandons it, and the decision is taken again
              return restore(Effect.flatMap(Deferred.await(decision.gate), (outcome) =>
                outcome === "abandoned"
                  ? gated(bps, direct, lead, onJoin)
                  : outcome === "ready" && onJoin !== undefined
                  ? onJoin
                  : direct))
          }
        })
      )

    /**
     * With a shared lock (several replicas): the local leader also needs the establishing lock of each
     * of its cold keys, shortest prefix first. A key whose lock another replica holds is waited for by
     * polling the shared registry with back-off until it is warm (then it needs no lock), its lock is
     * free (then it is taken), or `maxWaitMs` has passed (then the leader goes ahead without it).
     */
    const leadAcrossReplicas = <A, E>(
      keys: ReadonlyArray<string>,
      gate: Deferred.Deferred<GateOutcome>,
      lead: (keys: ReadonlyArray<string>, gate: Deferred.Deferred<GateOutcome>) => Effect.Effect<A, E>
    ): Effect.Effect<A, E> => {
      if (!prefixLock.shared) return lead(keys, gate)
      const held: Array<readonly [string, string]> = []
      const releaseHeld = Effect.suspend(() =>
        Effect.forEach(held.splice(0), ([key, token]) => prefixLock.release(key, token), { discard: true })
      )
      const acquireAll = Effect.gen(function*() {
        const deadline = (yield* Clock.currentTimeMillis) + maxWaitMs
        for (const key of keys) {
          let delay = 10
          while (true) {
            const token = yield* prefixLock.acquire(key, lockTtlMs)
            if (Option.isSome(token)) {
              held.push([key, token.value])
              break
            }
            if (yield* isWarm(registry, key, 0)) break
            const now = yield* Clock.currentTimeMillis
            if (now >= deadline) return
            yield* Effect.sleep(Duration.millis(Math.min(delay, deadline - now)))
            delay = Math.min(delay * 2, 500)
          }
        }
      })
      return Effect.zipRight(acquireAll, lead(keys, gate)).pipe(Effect.ensuring(releaseHeld))
    }

    const gatedRequest = (request: MessagesRequest): Effect.Effect<Response, ProviderError> => {
      const bps = cacheable(request)
      const direct = send(request, bps, { stream: false })
      if (policy !== "auto" || bps.length === 0) return direct
      return gated(
        bps,
        direct,
        (keys, gate) => send(request, bps, { stream: true, onBegun: release(keys, gate, "ready") })
      )
    }

    const warmCall = (shared: MessagesRequest, bps: ReadonlyArray<Breakpoint>) =>
      warmPermits.withPermits(1)(
        Effect.acquireUseRelease(
          Effect.sync(() => void warmsInFlight++),
          () => send({ ...shared, max_tokens: 0, stream: false }, bps, { stream: false }),
          () => Effect.sync(() => void warmsInFlight--)
        )
      )

    /** the skip rule that applies to a shared prefix, if any */
    const skipReason = (shared: MessagesRequest, uses: number): Effect.Effect<Option.Option<SkipReason>> => {
      if (policy === "off") return Effect.succeed(Option.some("warming_off"))
      const all = breakpoints(shared, positions(shared))
      if (all.length === 0) return Effect.succeed(Option.some("no_breakpoint"))
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
    const establish = (shared: MessagesRequest): Effect.Effect<WarmOutcome> => {
      const bps = cacheable(shared)
      if (policy !== "auto") return Effect.map(Effect.either(warmCall(shared, bps)), toOutcome)
      const joined: Effect.Effect<WarmOutcome> = Effect.succeed({ _tag: "Joined" })
      return gated(
        bps,
        joined,
        (keys, gate) =>
          Effect.map(
            Effect.either(Effect.tap(warmCall(shared, bps), () => release(keys, gate, "ready"))),
            toOutcome
          ),
        joined
      )
    }

    const warm = (shared: MessagesRequest, uses = 2): Effect.Effect<WarmOutcome> =>
      Effect.gen(function*() {
        const skip = yield* skipReason(shared, uses)
        if (Option.isSome(skip)) {
          yield* metrics.recordSkippedWarm(skip.value)
          return { _tag: "Skipped", reason: skip.value } as WarmOutcome
        }
        return yield* establish(shared)
      })

    // ---------------------------------------------------------------------------------------------
    // keep-alive
    // ---------------------------------------------------------------------------------------------

    const keepAliveLoop = (key: string, state: KeepAliveState, options: KeepAliveOptions) =>
      Effect.gen(function*() {
        const lead = options.leadMs ?? 30_000
        const maxIdle = options.maxIdleRefreshes ?? 3
        const breakEven = Multipliers.read / (Multipliers.write5m - Multipliers.read)
        while (true) {
          const until = yield* registry.warmUntil(key)
          if (Option.isNone(until)) return
          const now = yield* Clock.currentTimeMillis
          if (until.value - now > lead) {
            yield* Effect.sleep(Duration.millis(until.value - now - lead))
            continue
          }
          const arrivals = state.arrivals
          const last = arrivals[arrivals.length - 1] ?? now
          const meanGap = arrivals.length >= 2 ? (last - arrivals[0]!) / (arrivals.length - 1) : state.ttlMs
          // a request is due before the entry expires: it will refresh the entry itself; look again
          // at the last moment
          const lastMoment = until.value - 1_000
          if (now < lastMoment && last + meanGap < until.value) {
            yield* Effect.sleep(Duration.millis(lastMoment - now))
            continue
          }
          const gap = Math.max(meanGap, now - last, 1)
          const p = 1 - Math.exp(-state.ttlMs / gap)
          if (p <= breakEven || state.idleRefreshes >= maxIdle) return
          state.idleRefreshes++
          const result = yield* Effect.either(warmCall(state.warm, cacheable(state.warm)))
          if (Either.isLeft(result)) return
        }
      }).pipe(Effect.ensuring(Effect.sync(() => {
        state.running = false
        keepAlives.delete(key)
      })))

    const trackTraffic = (shared: MessagesRequest): Effect.Effect<void> =>
      keepAlive === undefined || policy !== "auto" ? Effect.void : Effect.gen(function*() {
        const bps = cacheable(shared)
        const last = bps[bps.length - 1]
        if (last === undefined) return
        const key = last.position.fingerprint
        const now = yield* Clock.currentTimeMillis
        const state = keepAlives.get(key) ??
          { arrivals: [], idleRefreshes: 0, running: false, warm: shared, ttlMs: ttlMillis(last.ttl) }
        state.arrivals.push(now)
        if (state.arrivals.length > 8) state.arrivals.shift()
        state.idleRefreshes = 0
        state.warm = shared
        keepAlives.set(key, state)
        if (!state.running) {
          state.running = true
          yield* Effect.forkIn(Effect.interruptible(keepAliveLoop(key, state, keepAlive)), scope)
        }
      })

    // ---------------------------------------------------------------------------------------------

    const fanOut = (input: FanOut): Effect.Effect<FanOutResult> => {
      const each = (r: MessagesRequest) => Effect.either(gatedRequest(r))
      const concurrency = input.concurrency ?? "unbounded"
      const requests = concurrency === "unbounded"
        ? concurrently(input.requests.map(each))
        : Effect.forEach(input.requests, each, { concurrency })
      return skipReason(input.shared, input.requests.length).pipe(
        Effect.flatMap((skip): Effect.Effect<WarmOutcome | undefined> => {
          if (Option.isSome(skip)) {
            return Effect.as(metrics.recordSkippedWarm(skip.value), { _tag: "Skipped", reason: skip.value })
          }
          return policy === "always" || method === "warm-call" ? establish(input.shared) : Effect.succeed(undefined)
        }),
        Effect.flatMap((warm) =>
          Effect.map(
            // watched from when the requests have written or read the prefix
            Effect.zipLeft(requests, Effect.suspend(() => trackTraffic(input.shared))),
            (responses): FanOutResult => ({ responses, warm })
          )
        )
      )
    }

    const service: CacheWarmerService = {
      policy,
      request: gatedRequest,
      warm: (shared) => warm(shared),
      fanOut,
      state: Effect.sync(() => ({ gates: gates.size, warmsInFlight, keepAlives: keepAlives.size }))
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
