/**
 * `soak`: the reliability soak, accounted and checked.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Soak from "../bench/Soak.js"
import { UsageError } from "./CliError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Args {
  readonly requests: number
  readonly transport: "in-process" | "http" | "both"
}

/**
 * `soak`: the reliability soak, accounted and checked; fails when anything is lost, duplicated or leaked.
 *
 * @since 0.1.0
 * @category commands
 */
export const handle = (cmd: Args) =>
  Effect.gen(function*() {
    const sessions = 200
    const fanOut = 5
    const turns = Math.max(1, Math.round(cmd.requests / (sessions * fanOut)))
    const transports = cmd.transport === "both" ? (["in-process", "http"] as const) : [cmd.transport]
    for (const transport of transports) {
      const r = yield* Soak.run({ transport, sessions, turns, fanOut })
      yield* Console.log(Soak.render(r))
      const problems = Soak.problems(r)
      if (problems.length > 0) return yield* Effect.fail(new UsageError({ detail: `soak (${transport}): ${problems.join("; ")}` }))
    }
  })
