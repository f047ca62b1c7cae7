/**
 * The library's spans and metrics out over OTLP/HTTP, through `@effect/opentelemetry`'s OTLP exporters
 * (pure Effect over an `HttpClient`; no OpenTelemetry SDK needed). The library only ever uses Effect's
 * tracer and `Metric`s, so an app with its own tracing setup (`@effect/opentelemetry`'s `NodeSdk`, any
 * Effect tracer) sees the same spans without this module; this is for the app that has none, and for
 * the program (`run`, `bench`, `serve`, `proxy` read the standard environment variables).
 *
 * @since 0.3.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as OtlpMetrics from "@effect/opentelemetry/OtlpMetrics"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/**
 * @since 0.3.0
 * @category models
 */
export type Protocol = "http/json" | "http/protobuf"

/**
 * @since 0.3.0
 * @category models
 */
export interface OtelOptions {
  /** the collector's base URL (`/v1/traces` and `/v1/metrics` are appended), e.g. `http://127.0.0.1:4318` */
  readonly endpoint: string
  /** `service.name` of the resource (default `effect-prompt-cache`) */
  readonly serviceName?: string | undefined
  /** default `http/protobuf`, as the OpenTelemetry specification's default */
  readonly protocol?: Protocol | undefined
  /** sent with every export (a collector's auth header); never logged */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** also export the `epc_*` metrics (default true) */
  readonly metrics?: boolean | undefined
  /** how often batches go out (default 5 s; the rest is flushed when the layer closes) */
  readonly exportInterval?: Duration.DurationInput | undefined
}

/**
 * Exports while the layer lives, and flushes what is left when it closes. Needs an `HttpClient`.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (options: OtelOptions): Layer.Layer<never, never, HttpClient.HttpClient> => {
  const base = options.endpoint.replace(/\/+$/, "")
  const resource = { serviceName: options.serviceName ?? "effect-prompt-cache" }
  const common = { resource, headers: options.headers ?? {}, exportInterval: options.exportInterval ?? Duration.seconds(5) }
  const tracer = OtlpTracer.layer({ ...common, url: `${base}/v1/traces` })
  const exporters = options.metrics === false ? tracer : Layer.merge(tracer, OtlpMetrics.layer({ ...common, url: `${base}/v1/metrics` }))
  return exporters.pipe(
    Layer.provide(options.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf)
  )
}

/** `k1=v1,k2=v2` (OTEL_EXPORTER_OTLP_HEADERS), values URL-decoded */
const parseHeaders = (text: string): Either.Either<Record<string, string>, string> => {
  const out: Record<string, string> = {}
  for (const pair of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const at = pair.indexOf("=")
    if (at <= 0) return Either.left("OTEL_EXPORTER_OTLP_HEADERS: each entry must be key=value")
    out[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim())
  }
  return Either.right(out)
}

/**
 * The options the standard environment variables give — `OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf` or `http/json`; `grpc` is
 * refused), `OTEL_EXPORTER_OTLP_HEADERS` — or none when no endpoint is set.
 *
 * @since 0.3.0
 * @category config
 */
export const optionsFromEnv: Effect.Effect<Option.Option<OtelOptions>, ConfigError.ConfigError> = Effect.gen(function*() {
  const endpoint = yield* Config.option(Config.nonEmptyString("OTEL_EXPORTER_OTLP_ENDPOINT"))
  if (Option.isNone(endpoint)) return Option.none()
  const serviceName = yield* Config.option(Config.nonEmptyString("OTEL_SERVICE_NAME"))
  const protocol = yield* Config.string("OTEL_EXPORTER_OTLP_PROTOCOL").pipe(Config.withDefault("http/protobuf"))
  if (protocol !== "http/json" && protocol !== "http/protobuf") {
    return yield* Effect.fail(ConfigError.InvalidData(["OTEL_EXPORTER_OTLP_PROTOCOL"], `${protocol} is not supported: use http/protobuf or http/json`))
  }
  const headersText = yield* Config.string("OTEL_EXPORTER_OTLP_HEADERS").pipe(Config.withDefault(""))
  const headers = parseHeaders(headersText)
  if (Either.isLeft(headers)) return yield* Effect.fail(ConfigError.InvalidData(["OTEL_EXPORTER_OTLP_HEADERS"], headers.left))
  return Option.some<OtelOptions>({
    endpoint: endpoint.value,
    serviceName: Option.getOrUndefined(serviceName),
    protocol,
    headers: headers.right
  })
})

/**
 * {@link layer} from the environment ({@link optionsFromEnv}); nothing when no endpoint is set.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerFromEnv: Layer.Layer<never, ConfigError.ConfigError, HttpClient.HttpClient> = Layer.unwrapEffect(
  Effect.map(optionsFromEnv, Option.match({ onNone: () => Layer.empty, onSome: layer }))
)
