/**
 * Claude on AWS Bedrock, through Anthropic's official `@anthropic-ai/bedrock-sdk` (an optional peer,
 * loaded when a layer is built): `AnthropicBedrock` (the `InvokeModel` API: `/model/{id}/invoke` and
 * `/invoke-with-response-stream`, AWS event-stream framing, SigV4 service `bedrock`) and
 * `AnthropicBedrockMantle` (Bedrock's Messages-API endpoint, `/anthropic/v1/messages`, SigV4 service
 * `bedrock-mantle`, with count_tokens). Both authenticate with a Bedrock API key (Bearer) or AWS
 * credentials: explicit keys, or the AWS default credential chain.
 *
 * The layers give the same `LanguageModel` and `TokenCounter` as the first-party one — the same
 * request and response mapping, retries and metrics — with Bedrock's errors mapped once (its
 * `x-amzn-errortype`), and a cache scope of platform, region and identity: Bedrock caches per account
 * and region, so warm-prefix keys of two regions or two accounts never meet.
 *
 * @since 0.2.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import { parseRetryAfter } from "../internal/retryAfter.js"
import { redact } from "../internal/text.js"
import type { LanguageModel } from "../LanguageModel.js"
import type { ProviderError } from "../ProviderError.js"
import {
  AuthenticationError,
  InvalidRequest,
  NotFound,
  Overloaded,
  PermissionError,
  RateLimited,
  ServerError,
  Timeout
} from "../ProviderError.js"
import type { TokenCounter } from "../TokenCounter.js"
import type { AnthropicClientService, SdkClient } from "./AnthropicClient.js"
import * as AnthropicClient from "./AnthropicClient.js"
import { layerModel, layerTokenCounter } from "./AnthropicProvider.js"

type Secret = Redacted.Redacted<string> | string

/**
 * @since 0.2.0
 * @category models
 */
export interface BedrockOptions {
  /** the AWS region (`AWS_REGION`): the cache is per region */
  readonly region: string
  /** default: the SDK's (`https://bedrock-runtime.{region}.amazonaws.com`, or Mantle's) */
  readonly baseURL?: string | undefined
  /** a Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`), sent as a Bearer token instead of SigV4 */
  readonly apiKey?: Secret | undefined
  /** static AWS credentials; without them (and without `apiKey`) the AWS default credential chain */
  readonly accessKeyId?: string | undefined
  readonly secretAccessKey?: Secret | undefined
  readonly sessionToken?: Secret | undefined
  readonly timeoutMs?: number | undefined
  readonly streamIdleTimeoutMs?: number | undefined
}

const reveal = (s: Secret | undefined): string | undefined =>
  s === undefined ? undefined : typeof s === "string" ? s : Redacted.value(s)

/** the identity whose cache a request reaches: the access key's id, or a digest of the API key */
const identityOf = (options: BedrockOptions): string => {
  const key = reveal(options.apiKey)
  if (key !== undefined && key !== "") return `key-${createHash("sha256").update(key).digest("hex").slice(0, 12)}`
  return options.accessKeyId ?? "default-credentials"
}

/**
 * Bedrock's errors: `{"message": …}` bodies typed by the `x-amzn-errortype` header. A credential chain
 * that finds nothing is an `AuthenticationError` naming what to set (the SDK raises it as a
 * connection error, which would be retried for nothing).
 *
 * @since 0.2.0
 * @category errors
 */
export const mapBedrockError = (u: unknown, secrets: ReadonlyArray<string>): ProviderError | undefined => {
  if (!(u instanceof Error)) return undefined
  if (/Failed to resolve AWS credentials/.test(u.message)) {
    return new AuthenticationError({
      detail:
        "no AWS credentials: set AWS_BEARER_TOKEN_BEDROCK, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
    })
  }
  const api = u as { status?: unknown; headers?: Headers; error?: { message?: unknown } }
  const errorType = api.headers?.get?.("x-amzn-errortype")?.split(":")[0]
  if (typeof api.status !== "number" || errorType === undefined || errorType === null) return undefined
  const detail = redact(typeof api.error?.message === "string" ? api.error.message : u.message, secrets)
  const requestId = api.headers?.get("x-amzn-requestid") ?? undefined
  const base = { detail: `${errorType}: ${detail}`, ...(requestId ? { requestId } : {}) }
  const retryAfterMs = parseRetryAfter(api.headers)
  switch (errorType) {
    case "ThrottlingException":
    case "ServiceQuotaExceededException":
      return new RateLimited({ ...base, retryAfterMs })
    case "ServiceUnavailableException":
    case "ModelNotReadyException":
      return new Overloaded({ ...base, retryAfterMs })
    case "ValidationException":
      return new InvalidRequest(base)
    case "AccessDeniedException":
      return new PermissionError(base)
    case "UnrecognizedClientException":
    case "ExpiredTokenException":
    case "InvalidSignatureException":
      return new AuthenticationError(base)
    case "ResourceNotFoundException":
      return new NotFound(base)
    case "ModelTimeoutException":
      return new Timeout(base)
    default:
      return api.status >= 500 || api.status === 424 ? new ServerError({ ...base, status: api.status, retryAfterMs }) : undefined
  }
}

/** the package, loaded when a layer is built: an optional peer */
const loadSdk = Effect.tryPromise({
  try: () => import("@anthropic-ai/bedrock-sdk"),
  catch: () =>
    ConfigError.MissingData([], "the Bedrock layers need the package @anthropic-ai/bedrock-sdk: npm install @anthropic-ai/bedrock-sdk")
})

/**
 * The client service over `AnthropicBedrock` (`mantle: false`) or `AnthropicBedrockMantle`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeClient = (
  options: BedrockOptions,
  mantle = false
): Effect.Effect<AnthropicClientService, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const sdk = yield* loadSdk
    const apiKey = reveal(options.apiKey)
    const secretKey = reveal(options.secretAccessKey)
    const sessionToken = reveal(options.sessionToken)
    const common = {
      awsRegion: options.region,
      maxRetries: 0,
      // null: never the environment behind the caller's back (Config read it already)
      apiKey: apiKey !== undefined && apiKey !== "" ? apiKey : null,
      ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
      ...(options.accessKeyId !== undefined && secretKey !== undefined
        // the two clients name the secret differently
        ? { awsAccessKey: options.accessKeyId, [mantle ? "awsSecretAccessKey" : "awsSecretKey"]: secretKey, awsSessionToken: sessionToken ?? null }
        : {})
    }
    const client = mantle ? new sdk.AnthropicBedrockMantle(common as never) : new sdk.AnthropicBedrock(common as never)
    const platform = mantle ? "bedrock-mantle" as const : "bedrock" as const
    return AnthropicClient.fromSdk(client as unknown as SdkClient, {
      options: { apiKey: "", streamIdleTimeoutMs: options.streamIdleTimeoutMs },
      secrets: [apiKey, secretKey, sessionToken].filter((s): s is string => s !== undefined && s !== ""),
      platform,
      cacheScope: `${platform}:${options.region}:${identityOf(options)}`,
      // Bedrock's invoke API serves no count_tokens; Mantle does
      countTokens: mantle,
      mapError: mapBedrockError
    })
  })

/**
 * The options from the standard environment variables: `AWS_REGION` (or `AWS_DEFAULT_REGION`;
 * required), `AWS_BEARER_TOKEN_BEDROCK`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
 * `AWS_SESSION_TOKEN` (secrets redacted), and the base URL from `baseUrlVariable`.
 *
 * @since 0.2.0
 * @category config
 */
export const configFromEnv = (baseUrlVariable = "ANTHROPIC_BEDROCK_BASE_URL"): Config.Config<BedrockOptions> =>
  Config.all({
    region: Config.nonEmptyString("AWS_REGION").pipe(
      Config.orElse(() => Config.nonEmptyString("AWS_DEFAULT_REGION")),
      Config.orElse(() => Config.fail("set AWS_REGION to the Bedrock region (us-east-1, eu-west-1, …)"))
    ),
    baseURL: Config.option(Config.nonEmptyString(baseUrlVariable)).pipe(Config.map(Option.getOrUndefined)),
    apiKey: Config.option(Config.redacted("AWS_BEARER_TOKEN_BEDROCK")).pipe(Config.map(Option.getOrUndefined)),
    accessKeyId: Config.option(Config.nonEmptyString("AWS_ACCESS_KEY_ID")).pipe(Config.map(Option.getOrUndefined)),
    secretAccessKey: Config.option(Config.redacted("AWS_SECRET_ACCESS_KEY")).pipe(Config.map(Option.getOrUndefined)),
    sessionToken: Config.option(Config.redacted("AWS_SESSION_TOKEN")).pipe(Config.map(Option.getOrUndefined)),
    timeoutMs: Config.option(Config.integer("ANTHROPIC_TIMEOUT_MS")).pipe(Config.map(Option.getOrUndefined))
  })

const over = (client: Effect.Effect<AnthropicClientService, ConfigError.ConfigError>) =>
  Layer.provideMerge(Layer.merge(layerModel, layerTokenCounter), Layer.effect(AnthropicClient.AnthropicClient, client))

/**
 * `LanguageModel` and `TokenCounter` on Bedrock's invoke API (the client is exposed too).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerBedrock = (
  options: BedrockOptions
): Layer.Layer<LanguageModel | TokenCounter | AnthropicClient.AnthropicClient, ConfigError.ConfigError> =>
  over(makeClient(options, false))

/**
 * `LanguageModel` and `TokenCounter` on Bedrock's Messages-API endpoint (Mantle).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerBedrockMantle = (
  options: BedrockOptions
): Layer.Layer<LanguageModel | TokenCounter | AnthropicClient.AnthropicClient, ConfigError.ConfigError> =>
  over(makeClient(options, true))

/**
 * {@link layerBedrock} from configuration (default: the standard environment variables).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerBedrockConfig = (
  config: Config.Config.Wrap<BedrockOptions> = configFromEnv()
): Layer.Layer<LanguageModel | TokenCounter | AnthropicClient.AnthropicClient, ConfigError.ConfigError> =>
  over(Effect.flatMap(Config.unwrap(config), (o) => makeClient(o, false)))

/**
 * {@link layerBedrockMantle} from configuration (default: the standard environment variables, the
 * base URL from `ANTHROPIC_BEDROCK_MANTLE_BASE_URL`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerBedrockMantleConfig = (
  config: Config.Config.Wrap<BedrockOptions> = configFromEnv("ANTHROPIC_BEDROCK_MANTLE_BASE_URL")
): Layer.Layer<LanguageModel | TokenCounter | AnthropicClient.AnthropicClient, ConfigError.ConfigError> =>
  over(Effect.flatMap(Config.unwrap(config), (o) => makeClient(o, true)))
