/**
 * The progress display: on a terminal only, on stderr, so that stdout carries the report alone.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Runner from "../bench/Runner.js"

/**
 * @since 0.1.0
 * @category progress
 */
export const isTTY = () => process.stderr.isTTY === true

/**
 * One progress line on stderr, rewritten in place, when stderr is a terminal.
 *
 * @since 0.1.0
 * @category progress
 */
export const progressLine = (p: Runner.Progress) =>
  Effect.sync(() => {
    if (!isTTY()) return
    const cost = p.costUsd === null ? "unknown" : `$${p.costUsd.toFixed(4)}`
    process.stderr.write(`\r  turns ${p.turnsDone}/${p.turnsTotal} · calls ${p.calls} · spend ${cost}   `)
    if (p.turnsDone === p.turnsTotal) process.stderr.write("\n")
  })
