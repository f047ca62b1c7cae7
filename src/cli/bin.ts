#!/usr/bin/env node
/**
 * The program's entry: parse arguments, run, and exit with a one-line reason on failure. Standard
 * output carries the report alone: logs and diagnostics go to standard error, with any secret the
 * environment holds removed.
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { cli } from "./Cli.js"
import { oneLine } from "./Output.js"

// colour only for a terminal, and never with NO_COLOR set (no-color.org)
const colours = (stream: NodeJS.WriteStream) => stream.isTTY === true && (process.env.NO_COLOR ?? "") === ""

// a reader that went away (`… | head`) ends the program quietly, not with a stack trace
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0)
    throw error
  })
}

/** Effect's log lines on stderr (the default pretty logger writes info and warnings to stdout) */
const StderrLogger = Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true, colors: colours(process.stderr) }))

/**
 * What @effect/cli prints goes through Effect's Console, so the program's Console mends it: its help
 * and messages are coloured whatever the stream (the codes are dropped off a terminal or with
 * NO_COLOR), and a subcommand's usage reads `$ run …` where a reader types `effect-prompt-cache run …`.
 */
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g
const SUBCOMMAND_USAGE = /^\$ (?=(?:run|bench|serve|soak|demo)\b)/gm
const mend = (stream: NodeJS.WriteStream) => {
  const plain = !colours(stream)
  return (args: ReadonlyArray<unknown>) =>
    args.map((a) =>
      typeof a !== "string" ? a : (plain ? a.replace(ANSI, "") : a).replace(SUBCOMMAND_USAGE, "$$ effect-prompt-cache ")
    )
}
const mendOut = mend(process.stdout)
const mendErr = mend(process.stderr)

/**
 * Spans and metrics out over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the OpenTelemetry
 * wing, loaded only then: `@effect/opentelemetry` is an optional peer); otherwise no spans are made.
 * What is left is flushed when the program ends.
 */
const Telemetry = Layer.unwrapEffect(Effect.suspend(() =>
  (process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "") === ""
    // nobody reads the spans: not made at all (they cost the pipeline about a third of its speed)
    ? Effect.succeed(Layer.setTracerEnabled(false))
    : Effect.tryPromise({
      try: () => Promise.all([import("../otel/Otel.js"), import("@effect/platform-node/NodeHttpClient")]),
      catch: () =>
        new Error("OTEL_EXPORTER_OTLP_ENDPOINT is set, but @effect/opentelemetry is not installed: npm install @effect/opentelemetry@^0.64")
    }).pipe(Effect.map(([Otel, NodeHttpClient]) => Otel.layerFromEnv.pipe(Layer.provide(NodeHttpClient.layerUndici))))
))

const main = Effect.flatMap(Effect.console, (console) =>
  Effect.withConsole(Effect.provide(cli(process.argv), Telemetry), {
    ...console,
    log: (...args) => console.log(...mendOut(args)),
    error: (...args) => console.error(...mendErr(args))
  })
).pipe(
  Effect.catchAllCause((cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause)
      : Effect.gen(function*() {
        const failure = Cause.failureOption(cause)
        const error = failure._tag === "Some" ? failure.value : Cause.squash(cause)
        // @effect/cli has already printed its own message, with the help text where it applies
        if (!ValidationError.isValidationError(error)) {
          const message = error instanceof Error ? error.message : String(error)
          yield* Console.error(`error: ${oneLine(message)}`)
        }
        process.exitCode = 1
      })
  ),
  Effect.provide(Layer.merge(NodeContext.layer, StderrLogger))
)

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  // Ctrl-C or SIGTERM: the run prints its partial report on interruption; the exit code says it did not finish
  teardown: (exit, onExit) =>
    onExit(
      Exit.isFailure(exit)
        ? (Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
        : typeof process.exitCode === "number" ? process.exitCode : 0
    )
})
