/**
 * The process's Effect metrics (the library's `epc_*` among them) in the Prometheus text exposition
 * format, written by OpenTelemetry's Prometheus exporter (`@opentelemetry/exporter-prometheus`'s
 * serializer) over `@effect/opentelemetry`'s metric producer: names by Prometheus conventions (a
 * monotonic counter gets `_total`), histograms with their buckets in order, label values escaped.
 * Nothing here writes the format by hand.
 *
 * @since 0.3.0
 */
import * as Metrics from "@effect/opentelemetry/Metrics"
import * as Resource from "@effect/opentelemetry/Resource"
import { PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The content type of the exposition (the text format, version 0.0.4).
 *
 * @since 0.3.0
 * @category models
 */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

/**
 * @since 0.3.0
 * @category models
 */
export interface PrometheusMetricsService {
  /** the exposition of every Effect metric of the process, now */
  readonly scrape: Effect.Effect<string>
}

/**
 * @since 0.3.0
 * @category tags
 */
export class PrometheusMetrics extends Context.Tag("effect-prompt-cache/otel/PrometheusMetrics")<
  PrometheusMetrics,
  PrometheusMetricsService
>() {}

/**
 * @since 0.3.0
 * @category constructors
 */
export const make: Effect.Effect<PrometheusMetricsService, never, Resource.Resource> = Effect.map(
  Metrics.makeProducer,
  (producer) => {
    // no `target_info` and no scope labels: a scrape shows the metrics, labelled as they were recorded
    const serializer = new PrometheusSerializer(undefined, false, undefined, true, true)
    return {
      scrape: Effect.map(
        Effect.promise(() => producer.collect()),
        ({ resourceMetrics }) => serializer.serialize(resourceMetrics as Parameters<PrometheusSerializer["serialize"]>[0])
      )
    }
  }
)

/**
 * @since 0.3.0
 * @category options
 */
export interface PrometheusOptions {
  /** `service.name` of the resource (default `effect-prompt-cache`) */
  readonly serviceName?: string | undefined
}

/**
 * @since 0.3.0
 * @category layers
 */
export const layer = (options: PrometheusOptions = {}): Layer.Layer<PrometheusMetrics> =>
  Layer.effect(PrometheusMetrics, make).pipe(
    Layer.provide(Resource.layer({ serviceName: options.serviceName ?? "effect-prompt-cache" }))
  )
