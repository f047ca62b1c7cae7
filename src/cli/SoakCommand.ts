/**
 * `soak`: the reliability soak, accounted and checked.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Soak from "../bench/Soak.js"
import { UsageError } from "./CliError.js"
import { isTTY } from "./Progress.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Args {
  readonly requests: number
  readonly transport: "in-process" | "http" | "both"
}

/**
 * The soak's shape for about `requests` requests: fan-outs of 5; up to 200 sessions, then more turns
 * (so that `--requests 500` runs 500, not 1,000; any count within one round of fan-outs).
 *
 * @since 0.1.0
 * @category models
 */
export const shape = (requests: number): { readonly sessions: number; readonly turns: number; readonly fanOut: number } => {
  const fanOut = 5
  const turns = Math.max(1, Math.ceil(requests / (200 * fanOut)))
  const sessions = Math.max(1, Math.round(requests / (turns * fanOut)))
  return { sessions, turns, fanOut }
}

/**
 * `soak`: the reliability soak, accounted and checked; fails when anything is lost, duplicated or leaked.
 *
 * @since 0.1.0
 * @category commands
 */
export const handle = (cmd: Args) =>
  Effect.gen(function*() {
    const { sessions, turns, fanOut } = shape(cmd.requests)
    const transports = cmd.transport === "both" ? (["in-process", "http"] as const) : [cmd.transport]
    for (const transport of transports) {
      yield* Console.error(
        `soak (${transport}): ${sessions * turns * fanOut} requests — ${sessions} sessions × ${turns} turns × a fan-out of ${fanOut}, under injected faults…`
      )
      const total = sessions * turns * fanOut
      const r = yield* Soak.run({
        transport,
        sessions,
        turns,
        fanOut,
        // on a terminal: the outcomes so far, on one line rewritten in place
        onProgress: (outcomes) => {
          if (isTTY()) process.stderr.write(`\r  ${outcomes} / ${total} requests ended${outcomes >= total ? "\n" : ""}`)
        }
      })
      yield* Console.log(Soak.render(r))
      const problems = Soak.problems(r)
      if (problems.length > 0) return yield* Effect.fail(new UsageError({ detail: `soak (${transport}): ${problems.join("; ")}` }))
    }
  })
