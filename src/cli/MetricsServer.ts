/**
 * The Prometheus endpoint of `--metrics-port`.
 *
 * @since 0.1.0
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Effect from "effect/Effect"
import { createServer } from "node:http"
import * as CacheMetrics from "../CacheMetrics.js"

/**
 * Serves the process-wide metrics as Prometheus text on `GET /metrics` while the scope lives.
 *
 * @since 0.1.0
 * @category metrics
 */
export const serveMetrics = (port: number) =>
  Effect.gen(function*() {
    const server = yield* NodeHttpServer.make(() => createServer(), { port, host: "127.0.0.1" })
    yield* HttpServer.serveEffect(
      Effect.map(CacheMetrics.prometheus, (text) =>
        HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4" }))
    ).pipe(Effect.provideService(HttpServer.HttpServer, server))
    const address = server.address
    return address._tag === "TcpAddress" ? address.port : port
  })
