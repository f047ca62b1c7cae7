#!/usr/bin/env node
/**
 * The program's entry: parse arguments, run, and exit with a one-line reason on failure.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
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

NodeRuntime.runMain(main, { disableErrorReporting: true })
