/**
 * Claude on Google Vertex AI, through Anthropic's official `@anthropic-ai/vertex-sdk` (an optional
 * peer, loaded when the layer is built): `…/projects/{p}/locations/{r}/publishers/anthropic/models/
 * {model}:rawPredict` and `:streamRawPredict` (SSE), count_tokens at `…/models/count-tokens:rawPredict`,
 * Google OAuth (Bearer) credentials.
 *
 * The SDK's constructor asks Google's auth library for a client eagerly, and a missing credential
 * then rejects unhandled. This layer resolves the credential first — a static access token, or
 * Application Default Credentials through `google-auth-library` — and fails with an
 * `AuthenticationError` naming what to set; the SDK only ever gets a client that works.
 *
 * The cache scope is platform, region and project: two never share warmth.
 *
 * @since 0.2.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { redact } from "../internal/text.js"
import type { LanguageModel } from "../LanguageModel.js"
import type { ProviderError } from "../ProviderError.js"
import { AuthenticationError } from "../ProviderError.js"
import type { TokenCounter } from "../TokenCounter.js"
import type { AnthropicClientService, SdkClient } from "./AnthropicClient.js"
import * as AnthropicClient from "./AnthropicClient.js"
import { layerModel, layerTokenCounter } from "./AnthropicProvider.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface VertexOptions {
  /** `CLOUD_ML_REGION` (`us-east5`, `europe-west1`, `global`, …): the cache is per region */
  readonly region: string
  /** `ANTHROPIC_VERTEX_PROJECT_ID`: the cache is per project */
  readonly projectId: string
  /** default: the SDK's (`https://{region}-aiplatform.googleapis.com/v1`) */
  readonly baseURL?: string | undefined
  /**
   * a static OAuth access token (`GOOGLE_OAUTH_ACCESS_TOKEN`, as `gcloud auth print-access-token`
   * prints it); without one, Application Default Credentials
   */
  readonly accessToken?: Redacted.Redacted<string> | string | undefined
  readonly timeoutMs?: number | undefined
  readonly streamIdleTimeoutMs?: number | undefined
}

/** what the SDK asks of a Google auth client */
interface AuthClientLike {
  readonly projectId?: string | null | undefined
  readonly getRequestHeaders: () => Promise<Headers>
}

const NO_CREDENTIALS =
  "no Google credentials: set GOOGLE_OAUTH_ACCESS_TOKEN, or GOOGLE_APPLICATION_CREDENTIALS to a key file, or run `gcloud auth application-default login`"

/** a credential that cannot be obtained is an authentication failure, not a retryable connection error */
const mapVertexError = (u: unknown, secrets: ReadonlyArray<string>): ProviderError | undefined =>
  u instanceof Error && /Failed to acquire Google OAuth credentials/.test(u.message)
    ? new AuthenticationError({ detail: redact(`${NO_CREDENTIALS} (${u.message})`, secrets) })
    : undefined

const authClientOf = (options: VertexOptions): Effect.Effect<AuthClientLike, AuthenticationError | ConfigError.ConfigError> => {
  const token = options.accessToken === undefined
    ? undefined
    : typeof options.accessToken === "string" ? options.accessToken : Redacted.value(options.accessToken)
  if (token !== undefined && token !== "") {
    return Effect.succeed({
      projectId: options.projectId,
      getRequestHeaders: () => Promise.resolve(new Headers({ authorization: `Bearer ${token}` }))
    })
  }
  return Effect.gen(function*() {
    const google = yield* Effect.tryPromise({
      try: () => import("google-auth-library"),
      catch: () =>
        ConfigError.MissingData([], "Application Default Credentials need the package google-auth-library: npm install google-auth-library")
    })
    const auth = new google.GoogleAuth({ scopes: "https://www.googleapis.com/auth/cloud-platform" })
    const client = yield* Effect.tryPromise({
      try: () => auth.getClient(),
      catch: (e) => new AuthenticationError({ detail: `${NO_CREDENTIALS} (${e instanceof Error ? e.message : String(e)})` })
    })
    return client as unknown as AuthClientLike
  })
}

/**
 * The client service over `AnthropicVertex`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeClient = (
  options: VertexOptions
): Effect.Effect<AnthropicClientService, AuthenticationError | ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const sdk = yield* Effect.tryPromise({
      try: () => import("@anthropic-ai/vertex-sdk"),
      catch: () => ConfigError.MissingData([], "the Vertex layer needs the package @anthropic-ai/vertex-sdk: npm install @anthropic-ai/vertex-sdk")
    })
    const authClient = yield* authClientOf(options)
    const client = new sdk.AnthropicVertex({
      region: options.region,
      projectId: options.projectId,
      authClient: authClient as never,
      maxRetries: 0,
      ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {})
    })
    const token = options.accessToken === undefined ? undefined : typeof options.accessToken === "string" ? options.accessToken : Redacted.value(options.accessToken)
    return AnthropicClient.fromSdk(client as unknown as SdkClient, {
      options: { apiKey: "", streamIdleTimeoutMs: options.streamIdleTimeoutMs },
      secrets: token !== undefined && token !== "" ? [token] : [],
      platform: "vertex",
      cacheScope: `vertex:${options.region}:${options.projectId}`,
      mapError: mapVertexError
    })
  })

/**
 * The options from the standard environment variables: `CLOUD_ML_REGION` and
 * `ANTHROPIC_VERTEX_PROJECT_ID` (both required), `ANTHROPIC_VERTEX_BASE_URL`,
 * `GOOGLE_OAUTH_ACCESS_TOKEN` (redacted; without it, Application Default Credentials).
 *
 * @since 0.2.0
 * @category config
 */
export const configFromEnv: Config.Config<VertexOptions> = Config.all({
  region: Config.nonEmptyString("CLOUD_ML_REGION").pipe(
    Config.orElse(() => Config.fail("set CLOUD_ML_REGION to the Vertex region (us-east5, europe-west1, global, …)"))
  ),
  projectId: Config.nonEmptyString("ANTHROPIC_VERTEX_PROJECT_ID").pipe(
    Config.orElse(() => Config.fail("set ANTHROPIC_VERTEX_PROJECT_ID to the Google Cloud project"))
  ),
  baseURL: Config.option(Config.nonEmptyString("ANTHROPIC_VERTEX_BASE_URL")).pipe(Config.map(Option.getOrUndefined)),
  accessToken: Config.option(Config.redacted("GOOGLE_OAUTH_ACCESS_TOKEN")).pipe(Config.map(Option.getOrUndefined)),
  timeoutMs: Config.option(Config.integer("ANTHROPIC_TIMEOUT_MS")).pipe(Config.map(Option.getOrUndefined))
})

/**
 * `LanguageModel` and `TokenCounter` on Vertex AI (the client is exposed too).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerVertex = (
  options: VertexOptions
): Layer.Layer<LanguageModel | TokenCounter | AnthropicClient.AnthropicClient, AuthenticationError | ConfigError.ConfigError> =>
  Layer.provideMerge(Layer.merge(layerModel, layerTokenCounter), Layer.effect(AnthropicClient.AnthropicClient, makeClient(options)))

/**
 * {@link layerVertex} from configuration (default: the standard environment variables).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerVertexConfig = (
  config: Config.Config.Wrap<VertexOptions> = configFromEnv
): Layer.Layer<LanguageModel | TokenCounter | AnthropicClient.AnthropicClient, AuthenticationError | ConfigError.ConfigError> =>
  Layer.provideMerge(
    Layer.merge(layerModel, layerTokenCounter),
    Layer.effect(AnthropicClient.AnthropicClient, Effect.flatMap(Config.unwrap(config), makeClient))
  )
