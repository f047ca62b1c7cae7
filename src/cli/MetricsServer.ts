/**
 * The Prometheus endpoint of `--metrics-port`: the exposition written by OpenTelemetry's Prometheus
 * exporter (the OpenTelemetry wing, loaded only when the option is given: its packages are optional
 * peers).
 *
 * @since 0.1.0
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { createServer } from "node:http"
import { listenFailure, UsageError } from "./CliError.js"

/** the OpenTelemetry wing's exposition, or a one-line reason it is not installed */
const loadPrometheus = Effect.tryPromise({
  try: () => import("../otel/Prometheus.js"),
  catch: () =>
    new UsageError({
      detail:
        "--metrics-port needs the OpenTelemetry packages: npm install @effect/opentelemetry@^0.64 @opentelemetry/exporter-prometheus@^0.223"
    })
})

/**
 * Serves the process-wide metrics as Prometheus text on `GET /metrics` while the scope lives.
 *
 * @since 0.1.0
 * @category metrics
 */
export const serveMetrics = (port: number) =>
  Effect.gen(function*() {
    const Prometheus = yield* loadPrometheus
    const metrics = yield* Effect.provide(Prometheus.PrometheusMetrics, Prometheus.layer())
    const server = yield* NodeHttpServer.make(() => createServer(), { port, host: "127.0.0.1" })
    yield* HttpServer.serveEffect(
      Effect.map(metrics.scrape, (text) => HttpServerResponse.text(text, { contentType: Prometheus.contentType }))
    ).pipe(Effect.provideService(HttpServer.HttpServer, server))
    const address = server.address
    return address._tag === "TcpAddress" ? address.port : port
  })

/**
 * `--metrics-port`: the endpoint served, and its URL printed, when the option is given.
 *
 * @since 0.2.0
 * @category servers
 */
export const serveMetricsIfAsked = (metricsPort: Option.Option<number>) =>
  Option.match(metricsPort, {
    onNone: () => Effect.void,
    onSome: (asked) =>
      serveMetrics(asked).pipe(
        Effect.mapError((e) =>
          e._tag === "UsageError" ? e : new UsageError({ detail: `--metrics-port ${asked}: ${listenFailure(e.cause)}` })
        ),
        Effect.flatMap((port) => Console.log(`metrics on http://127.0.0.1:${port}/metrics`))
      )
  })
