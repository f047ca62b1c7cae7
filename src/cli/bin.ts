#!/usr/bin/env node
/**
 * The program's entry: parse arguments, run, and exit with a one-line reason on failure.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { cli } from "./Cli.js"

const main = cli(process.argv).pipe(
  Effect.catchAllCause((cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause)
      : Effect.gen(function*() {
        const failure = Cause.failureOption(cause)
        const error = failure._tag === "Some" ? failure.value : Cause.squash(cause)
        // @effect/cli has already printed usage errors with the help text
        if (!(typeof error === "object" && error !== null && "_tag" in error && String(error._tag).startsWith("ValidationError"))) {
          const message = error instanceof Error ? error.message : String(error)
          yield* Console.error(`error: ${message.split("\n")[0]}`)
        }
        process.exitCode = 1
      })
  ),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  // Ctrl-C: the run prints its partial report on interruption; the exit code says it did not finish
  teardown: (exit, onExit) =>
    onExit(
      Exit.isFailure(exit)
        ? (Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
        : typeof process.exitCode === "number" ? process.exitCode : 0
    )
})
