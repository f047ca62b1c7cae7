/**
 * The framework-overhead benchmark (`bench --overhead`) with Effect's tracing on or off, as a library
 * user gets it: on is Effect's default (its native tracer makes every span, nothing is exported),
 * off is `Layer.setTracerEnabled(false)` (what the program does when no OTLP endpoint is set). Figures
 * in docs/benchmarks.md ("With spans") and docs/observability.md.
 *
 *   npx tsx scripts/overhead-tracing.ts on|off
 */
import * as Effect from "effect/Effect"
import * as Overhead from "../src/bench/Overhead.js"

const traced = process.argv[2] !== "off"
const result = await Effect.runPromise(Overhead.run().pipe(Effect.withTracerEnabled(traced)))
const line = Overhead.render(result).split("\n").find((l) => l.includes("throughput")) ?? ""
console.log(`${traced ? "tracing on (Effect's native tracer, nothing exported)" : "tracing off"}: ${line.trim()}`)
