/**
 * A seeded generator of agent sessions, for the pruner's comparison (`bench --pruning`): long and short
 * sessions, heavy re-reads of the same files, many failing calls, large outputs, fan-outs of 1 to 8 —
 * each the same bytes for the same seed.
 *
 * @since 0.3.0
 */
import type { Message } from "../Prompt.js"
import { prose } from "./BuiltinWorkloads.js"
import { builtin } from "./Workload.js"
import type { Workload } from "./WorkloadSchema.js"

/**
 * @since 0.3.0
 * @category models
 */
export interface Shape {
  readonly name: string
  readonly seed: number
  /** model steps (turns after the first) */
  readonly steps: number
  /** requests per turn */
  readonly fanOut: number
  /** files the agent works on: fewer files, more re-reads of the same ones */
  readonly files: number
  /** share of commands that fail */
  readonly failures: number
  /** tokens of a file, and of a command's output */
  readonly fileTokens: number
  readonly outputTokens: number
}

/**
 * The family the bench runs: every trait the issue names, at both ends.
 *
 * @since 0.3.0
 * @category workloads
 */
export const family: ReadonlyArray<Shape> = [
  { name: "gen-short", seed: 1, steps: 6, fanOut: 1, files: 3, failures: 0.1, fileTokens: 1500, outputTokens: 800 },
  { name: "gen-long", seed: 2, steps: 60, fanOut: 2, files: 6, failures: 0.1, fileTokens: 1500, outputTokens: 1000 },
  { name: "gen-rereads", seed: 3, steps: 30, fanOut: 1, files: 2, failures: 0.05, fileTokens: 2500, outputTokens: 600 },
  { name: "gen-failing", seed: 4, steps: 30, fanOut: 2, files: 5, failures: 0.5, fileTokens: 1200, outputTokens: 900 },
  { name: "gen-large-outputs", seed: 5, steps: 25, fanOut: 1, files: 5, failures: 0.1, fileTokens: 1500, outputTokens: 5000 },
  { name: "gen-fanout-8", seed: 6, steps: 20, fanOut: 8, files: 4, failures: 0.1, fileTokens: 1500, outputTokens: 1000 },
  { name: "gen-long-fanout-4", seed: 7, steps: 80, fanOut: 4, files: 8, failures: 0.15, fileTokens: 1200, outputTokens: 1200 }
]

/**
 * A session of `shape`: the built-in agent session's system prompt and tools, then one tool call per
 * step — reads of a few files (again and again), writes that supersede each other, commands that
 * fail or print long output — with `fanOut` requests per turn.
 *
 * @since 0.3.0
 * @category workloads
 */
export const generate = (shape: Shape): Workload => {
  const base = builtin("agent-session")
  if (base._tag === "None") throw new Error("the built-in agent-session is missing")
  let x = shape.seed * 2654435761 % 4294967296
  const random = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648
  const version = new Map<string, number>()
  const turns: Array<Workload["turns"][number]> = [{
    append: [{ role: "user", content: "Task: fix the failing invoice tests, then clean up." }],
    requests: Array.from({ length: shape.fanOut }, (_, r) => ({ prompt: `Sub-agent ${r}: plan the task.` }))
  }]
  for (let s = 0; s < shape.steps; s++) {
    const id = `toolu_g${shape.seed}_${s}`
    const file = `src/file${Math.floor(random() * shape.files)}.ts`
    const roll = random()
    const v = version.get(file) ?? 0
    let use: { name: string; input: Record<string, unknown> }
    let result: string
    let isError = false
    if (roll < 0.45) {
      use = { name: "read", input: { path: file } }
      result = prose(shape.fileTokens, shape.seed * 1000 + v * 37 + file.length)
    } else if (roll < 0.65) {
      version.set(file, v + 1)
      use = { name: "write", input: { path: file, content: prose(shape.fileTokens, shape.seed * 1000 + (v + 1) * 37 + file.length) } }
      result = "written"
    } else {
      isError = random() < shape.failures / 0.35
      use = { name: "bash", input: { command: `npm test -- ${file} ${prose(isError ? 300 : 20, s)}` } }
      result = `${isError ? "FAIL" : "PASS"} ${prose(shape.outputTokens, shape.seed * 7 + s)}`
    }
    const append: ReadonlyArray<Message> = [
      { role: "assistant", content: [{ type: "text", text: `Step ${s}.` }, { type: "tool_use", id, name: use.name, input: use.input }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: id, content: result, ...(isError ? { is_error: true } : {}) }] }
    ]
    turns.push({
      append,
      requests: Array.from({ length: shape.fanOut }, (_, r) => ({ prompt: `Sub-agent ${r}: next step after step ${s}.`, maxTokens: 200 }))
    })
  }
  return { ...base.value, name: shape.name, sessions: 1, turns }
}
