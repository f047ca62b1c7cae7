/**
 * Workloads: what the program runs. A JSON file (docs/workload.md) or a built-in name, decoded with
 * `effect/Schema`; every prompt it would send is checked with `validatePrompt` before anything is
 * sent, and every failure is a {@link WorkloadError} that names what is wrong and where.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { readFile, stat } from "node:fs/promises"
import { builtinWorkloads } from "./BuiltinWorkloads.js"
import { formatParseError } from "../internal/format.js"
import { nestingDepth } from "../internal/json.js"
import { withPrompt } from "../Pipeline.js"
import * as Pricing from "../Pricing.js"
import type { MessagesRequest } from "../Prompt.js"
import { violations } from "../PromptValidation.js"
import { Workload, WorkloadError } from "./WorkloadSchema.js"
import { ObjectMemo } from "../internal/objectMemo.js"

export * from "./WorkloadSchema.js"

/**
 * Largest workload file read (8 MiB).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_FILE_BYTES = 8 * 1024 * 1024

/**
 * Names of the built-in workloads.
 *
 * @since 0.1.0
 * @category builtins
 */
export const builtinNames: ReadonlyArray<string> = Object.keys(builtinWorkloads)

/**
 * @since 0.1.0
 * @category builtins
 */
export const builtin = (name: string): Option.Option<Workload> =>
  Option.fromNullable(builtinWorkloads[name]).pipe(Option.map((make) => make()))

/**
 * Decodes a workload from parsed JSON.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (source: string, json: unknown): Effect.Effect<Workload, WorkloadError> =>
  Schema.decodeUnknown(Workload, { errors: "all", onExcessProperty: "ignore" })(json).pipe(
    Effect.mapError((e) => new WorkloadError({ source, reason: "schema", detail: formatParseError(e) }))
  )

const PLACEHOLDER = "{session}"

/** whether a value holds `{session}` anywhere (a key or a string), remembered per object */
const placeholders = new ObjectMemo<boolean>("placeholders")
const holdsPlaceholder = (value: unknown): boolean => {
  if (typeof value === "string") return value.includes(PLACEHOLDER)
  if (typeof value !== "object" || value === null) return false
  let holds = placeholders.get(value)
  if (holds === undefined) {
    holds = Array.isArray(value)
      ? value.some(holdsPlaceholder)
      : Object.entries(value).some(([k, v]) => k.includes(PLACEHOLDER) || holdsPlaceholder(v))
    placeholders.set(value, holds)
  }
  return holds
}

/**
 * `value` with `{session}` replaced by the copy's number in every key and string. What holds no
 * placeholder is shared, not copied: the copies' common blocks are the same objects, so each is
 * serialized and hashed once (Prefix's memo) however many sessions run.
 */
const substitute = <A>(value: A, session: number): A => {
  if (!holdsPlaceholder(value)) return value
  const n = String(session)
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return v.replaceAll(PLACEHOLDER, n)
    if (!holdsPlaceholder(v)) return v
    if (Array.isArray(v)) return v.map(walk)
    return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k.replaceAll(PLACEHOLDER, n), walk(x)]))
  }
  return walk(value) as A
}

/**
 * The conversation of session copy `session` after turn `turn`'s messages are appended.
 *
 * @since 0.1.0
 * @category running
 */
export const conversationAt = (
  workload: Workload,
  session: number,
  turn: number,
  previous?: MessagesRequest
): MessagesRequest => {
  const base: MessagesRequest = previous ?? {
    model: workload.model,
    max_tokens: workload.maxTokens ?? 300,
    messages: [],
    ...(workload.system !== undefined ? { system: workload.system } : {}),
    ...(workload.tools !== undefined ? { tools: workload.tools } : {})
  }
  const system = workload.turns[turn]?.system
  const withSystem = system === undefined ? base : { ...base, system: substitute(system, session) }
  const append = workload.turns[turn]?.append ?? []
  return append.length === 0 ? withSystem : { ...withSystem, messages: [...withSystem.messages, ...substitute(append, session)] }
}

/**
 * The prompts of turn `turn` for session copy `session`.
 *
 * @since 0.1.0
 * @category running
 */
export const promptsAt = (workload: Workload, session: number, turn: number) =>
  substitute(workload.turns[turn]!.requests, session)

/**
 * Checks, before anything is sent, that the model is priced and that every request the workload
 * would send passes `validatePrompt` (the first session copy; copies differ only by `{session}`).
 *
 * @since 0.1.0
 * @category validation
 */
export const check = (
  source: string,
  workload: Workload,
  prices: Pricing.PriceTable = Pricing.defaultTable
): Effect.Effect<Workload, WorkloadError> =>
  Effect.suspend(() => {
    if (Option.isNone(Pricing.lookup(prices, workload.model))) {
      return Effect.fail(
        new WorkloadError({ source, reason: "unknown_model", detail: Pricing.unknownModelWarning(workload.model) })
      )
    }
    let conversation: MessagesRequest | undefined
    for (let t = 0; t < workload.turns.length; t++) {
      conversation = conversationAt(workload, 0, t, conversation)
      const prompts = promptsAt(workload, 0, t)
      for (let r = 0; r < prompts.length; r++) {
        const found = violations(withPrompt(conversation, prompts[r]!), Pricing.limitsOf(prices, workload.model))
        if (found.length > 0) {
          const v = found[0]!
          return Effect.fail(
            new WorkloadError({
              source,
              reason: "invalid_prompt",
              detail: `turns.${t}.requests.${r} would be rejected by the API: ${v.path}: ${v.detail}`
            })
          )
        }
      }
    }
    return Effect.succeed(workload)
  })

/**
 * Loads a workload by built-in name or file path, decodes and checks it.
 *
 * @since 0.1.0
 * @category loading
 */
export const load = (
  nameOrPath: string,
  prices: Pricing.PriceTable = Pricing.defaultTable
): Effect.Effect<Workload, WorkloadError> => Effect.flatMap(read(nameOrPath), (w) => check(nameOrPath, w, prices))

/**
 * Reads and decodes a workload by built-in name or file path, without {@link check}.
 *
 * @since 0.1.0
 * @category loading
 */
export const read = (nameOrPath: string): Effect.Effect<Workload, WorkloadError> =>
  Effect.gen(function*() {
    const found = builtin(nameOrPath)
    if (Option.isSome(found)) return found.value
    const fail = (reason: WorkloadError["reason"], detail: string) =>
      Effect.fail(new WorkloadError({ source: nameOrPath, reason, detail }))
    const info = yield* Effect.either(Effect.tryPromise({ try: () => stat(nameOrPath), catch: errorCode }))
    if (Either.isLeft(info)) {
      return yield* info.left === "ENOENT" || info.left === "ENOTDIR"
        ? fail("not_found", `no such file, and no built-in workload of that name (built-ins: ${builtinNames.join(", ")})`)
        : fail("unreadable", `cannot read it (${describeCode(info.left)})`)
    }
    if (info.right.isDirectory()) return yield* fail("not_a_file", "is a directory, not a workload file")
    if (!info.right.isFile()) return yield* fail("not_a_file", "is not a regular file")
    if (info.right.size > MAX_FILE_BYTES) {
      return yield* fail("too_large", `the file is ${info.right.size} bytes; the limit is ${MAX_FILE_BYTES} bytes (8 MiB)`)
    }
    const read = yield* Effect.either(Effect.tryPromise({ try: () => readFile(nameOrPath, "utf8"), catch: errorCode }))
    if (Either.isLeft(read)) return yield* fail("unreadable", `cannot read it (${describeCode(read.left)})`)
    // a UTF-8 byte order mark is not part of the JSON
    const text = read.right.startsWith("\uFEFF") ? read.right.slice(1) : read.right
    const depth = nestingDepth(text)
    if (depth > MAX_NESTING) {
      return yield* fail("too_deep", `JSON nested ${depth} levels deep; the limit is ${MAX_NESTING}`)
    }
    const json = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => e })
      .pipe(Effect.catchAll((e) => fail("not_json", `not JSON: ${e instanceof Error ? e.message : String(e)}`)))
    return yield* decode(nameOrPath, json)
  })

/**
 * Deepest JSON nesting accepted in a workload file (real workloads nest about 8 levels).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_NESTING = 256

const errorCode = (e: unknown): string =>
  typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : "unknown error"

const describeCode = (code: string): string =>
  code === "EACCES" || code === "EPERM" ? "permission denied" : code === "EISDIR" ? "is a directory" : code
