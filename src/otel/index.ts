/**
 * The OpenTelemetry wing: the library's spans and `epc_*` metrics out over OTLP/HTTP (needs
 * `@effect/opentelemetry`).
 *
 * @since 0.3.0
 */

/**
 * @since 0.3.0
 */
export * as Otel from "./Otel.js"

/**
 * @since 0.3.0
 */
export * as Prometheus from "./Prometheus.js"
