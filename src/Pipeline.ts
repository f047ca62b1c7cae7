/**
 * Prune → warm → request, for one conversation turn.
 *
 * A turn: prune the conversation (cache-aware), plan the breakpoints, establish the shared prefix per
 * the warming policy, then send the turn's requests concurrently — each = the shared conversation +
 * its own final user prompt (merged into the last user message when the conversation ends with one) —
 * with retries. Sessions are independent and may run concurrently (a multi-user service sharing one
 * system prompt and tool set).
 *
 * Every piece comes from a layer: {@link layer} builds the default set over any `LanguageModel`;
 * {@link layerFromServices} takes the user's own. Ready-made stacks live in their wings:
 * `SimulatedPipeline.layer` (effect-prompt-cache/simulator) is the whole stack on the simulator, for
 * users' tests, and `RedisRegistry.layer` (effect-prompt-cache/redis) is a registry to pass as
 * `registry`, shared by every replica.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as BreakpointPlanner from "./BreakpointPlanner.js"
import * as CacheMetrics from "./CacheMetrics.js"
import * as CacheWarmer from "./CacheWarmer.js"
import * as ContextPruner from "./ContextPruner.js"
import type { LanguageModel } from "./LanguageModel.js"
import type { Position } from "./Prefix.js"
import { commonTokens, positions, samePrompt } from "./Prefix.js"
import { LruMap } from "./internal/lru.js"
import * as PrefixLock from "./PrefixLock.js"
import * as Pricing from "./Pricing.js"
import type { CacheTtl, ContentBlock, Message, MessagesRequest } from "./Prompt.js"
import type { ProviderError } from "./ProviderError.js"
import type { Response, Usage } from "./Response.js"
import { annotate, GenAi, PromptCache, shortFingerprint, tracingWith, withSpan } from "./Telemetry.js"
import * as WarmRegistry from "./WarmRegistry.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface TurnPrompt {
  readonly prompt: string
  readonly maxTokens?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TurnInput {
  /** the conversation's identity: pruning decisions and the previous turn's prefix are kept per session */
  readonly sessionId: string
  /** the conversation so far: model, system, tools, messages (and any other request fields) */
  readonly conversation: MessagesRequest
  /** the turn's requests, run concurrently over the shared conversation */
  readonly prompts: ReadonlyArray<TurnPrompt>
  /**
   * requests expected over the rest of the session after this turn (for the pruner's price test; the
   * turn's own requests after the first are added, since they read the pruned prefix too)
   */
  readonly expectedRemainingRequests?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TurnResult {
  readonly responses: ReadonlyArray<Either.Either<Response, ProviderError>>
  /** the requests as sent (pruned, breakpoints placed) */
  readonly requests: ReadonlyArray<MessagesRequest>
  readonly pruning: ContextPruner.Decision
  /** tokens the pruner newly removed this turn, per rule */
  readonly newlyPruned: Readonly<Record<string, number>>
  readonly warm: CacheWarmer.WarmOutcome | undefined
  /** tokens of the shared prefix */
  readonly sharedTokens: number
  /** from the start of the turn until its last request completed (provider time) */
  readonly latencyMs: number
  /** what the turn cost: its warm call, if it made one, and its requests that succeeded */
  readonly cost: Cost
}

/**
 * A cost in USD, and the same calls with no caching (every prompt token at the base input price);
 * `null` when a model has no price or a call's cache writes are unknown.
 *
 * @since 0.3.0
 * @category models
 */
export interface Cost {
  readonly usd: number | null
  readonly noCacheUsd: number | null
}

/**
 * A session's running total, over the turns the pipeline has run for it.
 *
 * @since 0.3.0
 * @category models
 */
export interface SessionCost extends Cost {
  readonly turns: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PipelineService {
  readonly turn: (input: TurnInput) => Effect.Effect<TurnResult>
  /** a session's cost so far (none for a session it does not know, or has forgotten) */
  readonly sessionCost: (sessionId: string) => Effect.Effect<Option.Option<SessionCost>>
  /** forget a session's state (it has ended): its cost goes into the session-cost histogram */
  readonly forget: (sessionId: string) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Pipeline extends Context.Tag("effect-prompt-cache/Pipeline")<Pipeline, PipelineService>() {}

/**
 * @since 0.1.0
 * @category models
 */
export interface PipelineOptions {
  /** TTL of the tools+system breakpoint (default 5m) */
  readonly systemTtl?: CacheTtl | undefined
  /** requests of one turn in flight at once (default unbounded) */
  readonly concurrency?: number | "unbounded" | undefined
  /** sessions whose state is kept (default 10,000) */
  readonly maxSessions?: number | undefined
  /**
   * ask the API for its own diagnosis of each request against the session's previous response
   * (Anthropic's `diagnostics.previous_message_id`; the client must send the beta header
   * `cache-diagnosis-2026-04-07`): what it says goes beside the library's own (docs/observability.md)
   */
  readonly cacheDiagnostics?: boolean | undefined
}

/**
 * A user prompt appended to a conversation: merged into the last message when it is the user's,
 * else a new user message.
 *
 * @since 0.1.0
 * @category utils
 */
export const withPrompt = (conversation: MessagesRequest, prompt: TurnPrompt): MessagesRequest => {
  const messages = conversation.messages
  const last = messages[messages.length - 1]
  const text: ContentBlock = { type: "text", text: prompt.prompt }
  const next: ReadonlyArray<Message> = last !== undefined && last.role === "user"
    ? [...messages.slice(0, -1), {
      role: "user",
      content: [...(typeof last.content === "string" ? [{ type: "text" as const, text: last.content }] : last.content), text]
    }]
    : [...messages, { role: "user", content: [text] }]
  return { ...conversation, messages: next, max_tokens: prompt.maxTokens ?? conversation.max_tokens }
}

/** the shared prefix as a request a warm call can send: a user message is added when there is none */
const sharedRequest = (conversation: MessagesRequest): MessagesRequest => {
  if (conversation.messages.length === 0) {
    return { ...conversation, max_tokens: 0, messages: [{ role: "user", content: "." }] }
  }
  const shared = { ...conversation, max_tokens: 0 }
  samePrompt(shared, positions(conversation))
  return shared
}

interface SessionState {
  /** the id of the session's last response (what the API's cache diagnosis compares with) */
  lastResponseId: string | undefined
  previousSharedPositions: number | undefined
  /** the positions of the last turn's shared conversation (what this turn's calls should read) */
  lastShared: ReadonlyArray<Position> | undefined
  /** tokens the calls of warm turns should have read from the cache, and those they did not */
  expectedReads: number
  missedReads: number
  lastSharedFingerprint: string | undefined
  /** the TTL the last turn wrote its shared prefix at: what an edit of the messages rewrites */
  lastSharedTtl: CacheTtl | undefined
  turns: number
  /** µUSD so far; NaN once a call could not be priced */
  costMicros: number
  noCacheMicros: number
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: PipelineOptions = {}) =>
  Effect.gen(function*() {
    const pruner = yield* ContextPruner.ContextPruner
    const warmer = yield* CacheWarmer.CacheWarmer
    const metrics = yield* CacheMetrics.CacheMetrics
    const registry = yield* WarmRegistry.WarmRegistry
    const pricing = yield* Pricing.Pricing
    const sessions = new LruMap<string, SessionState>(options.maxSessions ?? 10_000)
    const sessionOf = (id: string): SessionState =>
      sessions.getOrCreate(id, () => ({
        lastResponseId: undefined,
        previousSharedPositions: undefined,
        lastShared: undefined,
        expectedReads: 0,
        missedReads: 0,
        lastSharedFingerprint: undefined,
        lastSharedTtl: undefined,
        turns: 0,
        costMicros: 0,
        noCacheMicros: 0
      }))

    /** the cost of the turn's calls, in µUSD (NaN when one cannot be priced) */
    const turnCost = (model: string, responses: ReadonlyArray<Either.Either<Response, ProviderError>>, warm: CacheWarmer.WarmOutcome | undefined) => {
      const price = pricing.lookup(model)
      let micros = 0
      let noCache = 0
      const add = (usage: Usage, unknownWrites: boolean) => {
        if (Option.isNone(price) || unknownWrites) micros = NaN
        else micros += Pricing.costMicros(usage, price.value)
        noCache = Option.isNone(price) ? NaN : noCache + Pricing.noCacheCostMicros(usage, price.value)
      }
      if (warm?._tag === "Warmed") add(warm.usage, false)
      for (const r of responses) if (Either.isRight(r)) add(r.right.usage, r.right.usageUnknown?.includes("cacheWrite") === true)
      return { micros, noCache }
    }
    const usd = (micros: number): number | null => (Number.isNaN(micros) ? null : Pricing.microsToUsd(micros))

    /**
     * What a turn's calls read of the prefix they share with the last turn, against what they could
     * have: the share missed anyway is the pruner's `missRate`. Turns that start cold, or whose edits
     * rewrite the cache (their own cost, priced by the pruner), are not observed.
     */
    const observeReads = (
      session: SessionState,
      unobserved: boolean,
      shared: ReadonlyArray<Position>,
      minTokens: number,
      result: { readonly responses: ReadonlyArray<Either.Either<Response, ProviderError>>; readonly warm: CacheWarmer.WarmOutcome | undefined }
    ) => {
      const common = unobserved || session.lastShared === undefined ? 0 : commonTokens(session.lastShared, shared)
      session.lastShared = shared
      if (common < Math.max(1, minTokens)) return
      const read = (usage: Usage) => {
        session.expectedReads += common
        session.missedReads += common - Math.min(common, usage.cacheRead)
      }
      if (result.warm?._tag === "Warmed") read(result.warm.usage)
      for (const r of result.responses) if (Either.isRight(r)) read(r.right.usage)
    }

    const recordPruned = (newlyPruned: Readonly<Record<string, number>>) => {
      const entries = Object.entries(newlyPruned)
      return entries.length === 0
        ? Effect.void
        : Effect.forEach(entries, ([rule, tokens]) => metrics.recordPruned(rule, tokens), { discard: true })
    }

    // once per turn, so written as few effects as it takes (times read from the fiber's clock; spans
    // and their attributes built only when spans are made)
    const turn = (input: TurnInput): Effect.Effect<TurnResult> => tracingWith((traced) => tracedTurn(input, traced))

    const tracedTurn = (input: TurnInput, traced: boolean): Effect.Effect<TurnResult> =>
      Effect.clockWith((clock) => {
        const start = clock.unsafeCurrentTimeMillis()
        const session = sessionOf(input.sessionId)
        /** the conversation's previous prefix, when this turn's supersedes it */
        let superseded: string | undefined
        const cold = session.lastSharedFingerprint === undefined
          ? Effect.succeed(true)
          : Effect.map(WarmRegistry.isWarm(registry, warmer.warmKey(session.lastSharedFingerprint), 0), (warm) => !warm)
        return cold.pipe(
          Effect.flatMap((cold) =>
            pruner.prune({
              conversationId: input.sessionId,
              request: input.conversation,
              cold,
              // the turn's own requests after the first read the pruned prefix too
              expectedRemainingRequests: input.expectedRemainingRequests === undefined
                ? undefined
                : input.expectedRemainingRequests + Math.max(0, input.prompts.length - 1),
              multipliers: pricing.multipliers(input.conversation.model),
              rewriteTtl: session.lastSharedTtl,
              missRate: session.expectedReads > 0 ? session.missedReads / session.expectedReads : 0
            }).pipe(
              Effect.map((pruned) => ({ cold, ...pruned })),
              (pruning) =>
                traced
                  ? pruning.pipe(
                    // the price decision, the rules applied and the tokens removed — never what they were
                    Effect.tap((pruned) =>
                      annotate(() => ({
                        [PromptCache.pruneDecision]: pruned.decision === undefined ? "none" : `${pruned.decision._tag}:${pruned.decision.reason}`,
                        [PromptCache.pruneRules]: Object.keys(pruned.newlyPruned).join(","),
                        [PromptCache.prunedTokens]: Object.values(pruned.newlyPruned).reduce((a, b) => a + b, 0)
                      }))
                    ),
                    withSpan("prompt_cache.prune")
                  )
                  : pruning
            )
          ),
          Effect.tap((pruned) => recordPruned(pruned.newlyPruned)),
          Effect.flatMap((pruned) => {
            const conversation = pruned.request
            const minTokens = pricing.minCacheableTokens(conversation.model)
            const shared = sharedRequest(conversation)
            const sharedPositions = positions(conversation).length
            const planOf = (request: MessagesRequest) =>
              BreakpointPlanner.plan({
                request,
                sharedPositions,
                previousSharedPositions: session.previousSharedPositions,
                systemTtl: options.systemTtl,
                minTokens
              })
            const sharedPlan = planOf(shared)
            // the plans go to the warmer as they are: it reads their breakpoints, never recomputes them
            const diagnostics = options.cacheDiagnostics === true
              ? { diagnostics: { previous_message_id: session.lastResponseId ?? null } }
              : undefined
            const plans = input.prompts.map((p) =>
              planOf(diagnostics === undefined ? withPrompt(conversation, p) : { ...withPrompt(conversation, p), ...diagnostics })
            )
            const fannedOut = Effect.map(
              // its calls are of this conversation: the miss diagnosis compares each with the one before
              warmer.fanOut({ shared: sharedPlan, requests: plans, concurrency: options.concurrency, conversation: input.sessionId }),
              (result): TurnResult => {
                session.previousSharedPositions = sharedPositions
                observeReads(session, pruned.cold || pruned.decision._tag === "Applied", positions(conversation), minTokens, result)
                // the conversation has moved on: its previous prefix is read only inside the new one
                if (session.lastSharedFingerprint !== sharedPlan.shared?.fingerprint) superseded = session.lastSharedFingerprint
                session.lastSharedFingerprint = sharedPlan.shared?.fingerprint
                const answered = result.responses.find(Either.isRight)
                if (answered !== undefined) session.lastResponseId = answered.right.id
                session.lastSharedTtl = sharedPlan.shared?.ttl
                const cost = turnCost(conversation.model, result.responses, result.warm)
                session.turns++
                session.costMicros += cost.micros
                session.noCacheMicros += cost.noCache
                return {
                  responses: result.responses,
                  requests: plans.map((p) => p.request),
                  pruning: pruned.decision,
                  newlyPruned: pruned.newlyPruned,
                  warm: result.warm,
                  sharedTokens: sharedPlan.sharedTokens,
                  latencyMs: clock.unsafeCurrentTimeMillis() - start,
                  cost: { usd: usd(cost.micros), noCacheUsd: usd(cost.noCache) }
                }
              }
            ).pipe(
              // keep-alive lets the superseded prefix go
              Effect.tap(() => (superseded === undefined ? Effect.void : warmer.release(superseded)))
            )
            if (!traced) return fannedOut
            const planned = annotate(() => ({
              [PromptCache.breakpoints]: sharedPlan.breakpoints.length,
              [PromptCache.sharedTokens]: sharedPlan.sharedTokens,
              ...(sharedPlan.shared !== undefined
                ? { [PromptCache.fingerprint]: shortFingerprint(sharedPlan.shared.fingerprint), [PromptCache.ttl]: sharedPlan.shared.ttl }
                : {})
            })).pipe(withSpan("prompt_cache.plan"))
            return Effect.zipRight(
              planned,
              Effect.tap(fannedOut, (result) =>
                // the turn's cost and the session's so far, on the turn's span
                annotate(() => ({
                  ...(result.cost.usd !== null ? { [PromptCache.costUsd]: result.cost.usd } : {}),
                  ...(Number.isNaN(session.costMicros) ? {} : { [PromptCache.sessionCostUsd]: Pricing.microsToUsd(session.costMicros) })
                })))
            )
          })
        )
      }).pipe((turned) =>
        traced
          ? withSpan("prompt_cache.turn", () => ({
            attributes: {
              [GenAi.requestModel]: input.conversation.model,
              [GenAi.conversationId]: input.sessionId,
              [PromptCache.requests]: input.prompts.length,
              [PromptCache.warming]: warmer.policy
            }
          }))(turned)
          : turned
      )

    const service: PipelineService = {
      turn,
      sessionCost: (id) =>
        Effect.sync(() => {
          const state = sessions.get(id)
          return state === undefined || state.turns === 0
            ? Option.none()
            : Option.some({ turns: state.turns, usd: usd(state.costMicros), noCacheUsd: usd(state.noCacheMicros) })
        }),
      // a session that ends is one observation of the session-cost histogram (never a label per id)
      forget: (id) =>
        Effect.suspend(() => {
          const state = sessions.peek(id)
          sessions.delete(id)
          const ended = state === undefined || state.turns === 0 || Number.isNaN(state.costMicros)
            ? Effect.void
            : metrics.recordSession(Pricing.microsToUsd(state.costMicros))
          // nobody will read the conversation's own prefix again: keep-alive lets it go
          const released = state?.lastSharedFingerprint === undefined ? Effect.void : warmer.release(state.lastSharedFingerprint)
          return Effect.zipRight(Effect.zipRight(Effect.zipRight(ended, released), pruner.forget(id)), warmer.forgetConversation(id))
        })
    }
    return service
  })

/**
 * The pipeline over services the caller provides.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromServices = (
  options: PipelineOptions = {}
): Layer.Layer<
  Pipeline,
  never,
  ContextPruner.ContextPruner | CacheWarmer.CacheWarmer | CacheMetrics.CacheMetrics | WarmRegistry.WarmRegistry | Pricing.Pricing
> => Layer.effect(Pipeline, make(options))

/**
 * @since 0.1.0
 * @category models
 */
export interface Config extends PipelineOptions {
  readonly warmer?: CacheWarmer.WarmerConfig | undefined
  /** `false`: no pruning */
  readonly pruner?: ContextPruner.PrunerConfig | false | undefined
  /** price overrides and additions */
  readonly prices?: Pricing.PriceTable | undefined
  /**
   * the in-process registry's bound, or a layer that provides the registry and its establishing lock
   * (e.g. `RedisRegistry.layer(...)` from effect-prompt-cache/redis, shared by every replica)
   */
  readonly registry?:
    | WarmRegistry.MemoryOptions
    | Layer.Layer<WarmRegistry.WarmRegistry | PrefixLock.PrefixLock>
    | undefined
}

const isRegistryLayer = (
  registry: Config["registry"]
): registry is Layer.Layer<WarmRegistry.WarmRegistry | PrefixLock.PrefixLock> => Layer.isLayer(registry)

/**
 * The pipeline and every service it needs, over any {@link LanguageModel} (the Anthropic layer, the
 * simulator, or a user's own). The services are exposed too, for metrics and inspection.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: Config = {}
): Layer.Layer<
  | Pipeline
  | CacheWarmer.CacheWarmer
  | ContextPruner.ContextPruner
  | CacheMetrics.CacheMetrics
  | WarmRegistry.WarmRegistry
  | PrefixLock.PrefixLock
  | Pricing.Pricing,
  never,
  LanguageModel
> => {
  const pricing = Pricing.layer(config.prices ?? {})
  const registry: Layer.Layer<WarmRegistry.WarmRegistry | PrefixLock.PrefixLock> = isRegistryLayer(config.registry)
    ? config.registry
    : Layer.merge(WarmRegistry.layerMemory(config.registry ?? {}), PrefixLock.layerLocal)
  const base = Layer.mergeAll(
    CacheMetrics.layer,
    registry,
    config.pruner === false ? ContextPruner.layerNoop : ContextPruner.layer(config.pruner ?? {})
  ).pipe(Layer.provideMerge(pricing))
  const warmer = CacheWarmer.layer(config.warmer ?? {}).pipe(Layer.provideMerge(base))
  return layerFromServices(config).pipe(Layer.provideMerge(warmer))
}
