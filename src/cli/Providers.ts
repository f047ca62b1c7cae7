/**
 * What the command line chooses: the provider layer, the price file, the fault specification and
 * the workload, each read and checked before anything is sent.
 *
 * @since 0.1.0
 */
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as LayerM from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { readFile } from "node:fs/promises"
import type { ShardingOptions } from "../openai/PromptCacheKeys.js"
import * as Workload from "../bench/Workload.js"
import { formatParseError } from "../internal/format.js"
import type { LanguageModel } from "../LanguageModel.js"
import * as Pricing from "../Pricing.js"
import type { AuthenticationError } from "../ProviderError.js"
import * as SimulatedProvider from "../simulator/SimulatedProvider.js"
import * as VirtualTime from "../simulator/VirtualTime.js"
import { UsageError } from "./CliError.js"

/**
 * @since 0.1.0
 * @category models
 */
export type ProviderName = "simulated" | "anthropic" | "openai" | "bedrock" | "bedrock-mantle" | "vertex"

/**
 * Reads a price file: `{ "model-id": { "input": 3, "output": 15, "minCacheableTokens": 1024 } }`.
 *
 * @since 0.1.0
 * @category config
 */
export const loadPrices = (path: Option.Option<string>): Effect.Effect<Pricing.PriceTable, UsageError> =>
  Option.match(path, {
    onNone: () => Effect.succeed({}),
    onSome: (file) =>
      Effect.gen(function*() {
        const text = yield* Effect.tryPromise(() => readFile(file, "utf8")).pipe(
          Effect.mapError(() => new UsageError({ detail: `--prices ${file}: cannot read the file` }))
        )
        const json = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => e }).pipe(
          Effect.mapError((e) => new UsageError({ detail: `--prices ${file}: not JSON: ${e instanceof Error ? e.message : String(e)}` }))
        )
        return yield* Schema.decodeUnknown(Pricing.PriceTable)(json).pipe(
          Effect.mapError((e) => new UsageError({ detail: `--prices ${file}: ${formatParseError(e)}` }))
        )
      })
  })

/**
 * Parses a fault specification: `overloaded=0.2,rate-limited=0.1,server-error=0.05,reset=0.03,timeout=0.02,seed=7,retry-after-ms=1000`.
 *
 * @since 0.1.0
 * @category config
 */
export const parseFaults = (spec: string): Effect.Effect<SimulatedProvider.Faults, UsageError> =>
  Effect.suspend(() => {
    const keys: Record<string, keyof SimulatedProvider.Faults> = {
      "overloaded": "overloaded",
      "rate-limited": "rateLimited",
      "server-error": "serverError",
      "reset": "connectionReset",
      "timeout": "timeout",
      "seed": "seed",
      "retry-after-ms": "retryAfterMs",
      "timeout-ms": "timeoutMs"
    }
    const out: Record<string, number> = {}
    for (const part of spec.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      const [k, v] = part.split("=")
      const key = keys[k ?? ""]
      const n = Number(v)
      if (key === undefined) {
        return Effect.fail(new UsageError({ detail: `--faults: unknown fault "${k}" (known: ${Object.keys(keys).join(", ")})` }))
      }
      if (v === undefined || !Number.isFinite(n) || n < 0) {
        return Effect.fail(new UsageError({ detail: `--faults: ${k} needs a non-negative number, got "${v ?? ""}"` }))
      }
      out[key] = n
    }
    const total = ["overloaded", "rateLimited", "serverError", "connectionReset", "timeout"].reduce((a, k) => a + (out[k] ?? 0), 0)
    if (total > 1) return Effect.fail(new UsageError({ detail: `--faults: the rates add up to ${total}, more than 1` }))
    return Effect.succeed(out as SimulatedProvider.Faults)
  })

/**
 * A provider's wing, imported when that provider is chosen: each brings its SDK (tens of MB resident),
 * which a run on the simulator never needs.
 */
const lazy = <M, E, R>(load: () => Promise<M>, make: (wing: M) => Layer.Layer<LanguageModel, E, R>) =>
  LayerM.unwrapEffect(Effect.map(Effect.promise(load), make))

/**
 * The provider layer: a fresh simulator (a cold cache; OpenAI models through the OpenAI provider on
 * it), or the Anthropic or OpenAI API from the environment.
 *
 * @since 0.1.0
 * @category providers
 */
export const providerLayer = (
  provider: ProviderName,
  simulator: SimulatedProvider.SimulatorConfig = {}
): Layer.Layer<LanguageModel, AuthenticationError | UsageError> => {
  const configured = <E, R>(layer: Layer.Layer<LanguageModel, E, R>) =>
    LayerM.mapError(layer, (e) =>
      ConfigError.isConfigError(e)
        ? new UsageError({ detail: `configuration: ${String(e)}` })
        : e as Exclude<E, ConfigError.ConfigError>)
  switch (provider) {
    case "anthropic":
      return configured(lazy(() => import("../anthropic/AnthropicProvider.js"), (m) => m.layerConfig()))
    case "openai":
      return configured(
        lazy(() => import("../openai/OpenAIProvider.js"), (m) => m.layerConfig(undefined, { promptCacheKey: simulator.openaiKeys }))
      )
    case "bedrock":
      return configured(lazy(() => import("../anthropic/Bedrock.js"), (m) => m.layerBedrockConfig()))
    case "bedrock-mantle":
      return configured(lazy(() => import("../anthropic/Bedrock.js"), (m) => m.layerBedrockMantleConfig()))
    case "vertex":
      return configured(lazy(() => import("../anthropic/Vertex.js"), (m) => m.layerVertexConfig()))
    case "simulated":
      // nothing here reads the simulator's call log: a short one keeps memory flat on long runs
      return SimulatedProvider.layer({ callLogLimit: 1_000, ...simulator })
  }
}

/**
 * `--prompt-cache-key` as the OpenAI provider's key management.
 *
 * @since 0.2.0
 * @category config
 */
export const keyManagement = (choice: "sharded" | "single" | "off" | undefined): ShardingOptions | false =>
  choice === "off" ? false : choice === "single" ? { maxShards: 1 } : {}

/**
 * A workload by name or file, with `--model` applied, checked against the price table.
 *
 * @since 0.1.0
 * @category config
 */
export const loadWorkload = (name: string, model: Option.Option<string>, prices: Pricing.PriceTable) =>
  Effect.gen(function*() {
    const table = { ...Pricing.defaultTable, ...prices }
    const read = yield* Workload.read(name)
    const workload = Option.match(model, { onNone: () => read, onSome: (m) => ({ ...read, model: m }) })
    return yield* Workload.check(name, workload, table)
  })

/**
 * Runs an effect on the simulator's virtual clock, or on the real clock for a real provider.
 *
 * @since 0.1.0
 * @category running
 */
export const clocked = <A, E, R>(provider: ProviderName, effect: Effect.Effect<A, E, R>) =>
  provider === "simulated" ? VirtualTime.run(effect) : effect
