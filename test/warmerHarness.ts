import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as CacheMetrics from "../src/CacheMetrics.js"
import * as CacheWarmer from "../src/CacheWarmer.js"
import type { LanguageModelService } from "../src/LanguageModel.js"
import { LanguageModel } from "../src/LanguageModel.js"
import * as Pricing from "../src/Pricing.js"
import type { MessagesRequest } from "../src/Prompt.js"
import type { ProviderError } from "../src/ProviderError.js"
import * as SimulatedProvider from "../src/simulator/SimulatedProvider.js"
import * as WarmRegistry from "../src/WarmRegistry.js"

/** decides, per call, whether the provider fails it before anything is sent to the simulator */
export type FailWhen = (
  request: MessagesRequest,
  call: number
) => ProviderError | "hang" | { readonly error: ProviderError; readonly afterMs: number } | undefined

const failure = (e: ProviderError | { readonly error: ProviderError; readonly afterMs: number }) =>
  "afterMs" in e ? Effect.delay(Effect.fail(e.error), e.afterMs) : Effect.fail(e)

/** wraps the simulator's LanguageModel: calls chosen by `failWhen` fail instead of reaching it */
const failing = (failWhen: FailWhen) =>
  Layer.effectContext(
    Effect.map(Effect.all([LanguageModel, SimulatedProvider.Simulator]), ([lm, sim]) => {
      let n = 0
      const wrapped: LanguageModelService = {
        provider: lm.provider,
        create: (r) => Effect.suspend(() => {
          const e = failWhen(r, n++)
          return e === undefined ? lm.create(r) : e === "hang" ? Effect.never : failure(e)
        }),
        stream: (r) => Stream.suspend(() => {
          const e = failWhen(r, n++)
          return e === undefined ? lm.stream(r) : e === "hang" ? Stream.never : Stream.fromEffect(failure(e))
        })
      }
      return Context.make(LanguageModel, wrapped).pipe(Context.add(SimulatedProvider.Simulator, sim))
    })
  )

/**
 * The memory registry seen only through its effects, each read yielding first (as I/O would): the
 * warmer then takes its decisions under its lock instead of synchronously.
 */
const effectfulRegistry = Layer.effect(
  WarmRegistry.WarmRegistry,
  Effect.map(WarmRegistry.makeMemory(), (memory): WarmRegistry.WarmRegistryService => ({
    warmUntil: (fp) => Effect.zipRight(Effect.yieldNow(), memory.warmUntil(fp)),
    markWarm: memory.markWarm,
    markCold: memory.markCold,
    size: memory.size
  }))
)

/** simulator + metrics + memory registry + warmer, all fresh for one test */
export const warmerLayer = (
  config: CacheWarmer.WarmerConfig = {},
  options: { sim?: SimulatedProvider.SimulatorConfig; failWhen?: FailWhen; registry?: "memory" | "effectful" } = {}
) => {
  const sim = SimulatedProvider.layer(options.sim ?? {})
  const model = options.failWhen === undefined ? sim : failing(options.failWhen).pipe(Layer.provide(sim))
  const deps = Layer.mergeAll(
    model,
    CacheMetrics.layer.pipe(Layer.provideMerge(Pricing.layerDefault)),
    options.registry === "effectful" ? effectfulRegistry : WarmRegistry.layerMemory()
  )
  return CacheWarmer.layer(config).pipe(Layer.provideMerge(deps))
}
