/**
 * The API's server-side context editing (Anthropic, beta `context-management-2025-06-27`), as the
 * simulator applies it: `context_management.edits` with `clear_tool_uses_20250919`. The edit runs on
 * the request before anything else sees it — the cache is looked up and written for the edited
 * prompt, so clearing rewrites the cache from the first cleared result, as the API documents — and the
 * response says what it cleared (`context_management.applied_edits`). The client keeps its full
 * history and sends it every time: the edit is recomputed on every request. See docs/simulator.md.
 *
 * From the API's documentation and the SDK's types (`BetaClearToolUses20250919Edit`): `trigger`
 * (default 100,000 input tokens; or a number of tool uses) — the edit activates once the prompt is
 * over it; `keep` (default the 3 most recent tool uses) — never cleared; `clear_at_least` — the edit
 * happens only if it clears at least that many tokens; `exclude_tools`; `clear_tool_inputs` (true, or
 * the tool names whose inputs go too). When it activates, the oldest tool results are cleared in
 * chronological order — here every one not kept — and replaced by a placeholder; the API does not
 * document its placeholder's text, so the simulator's is its own.
 */
import type { ContentBlock, Message, MessagesRequest, ToolResultBlock, ToolUseBlock } from "../Prompt.js"
import { contentBlocks } from "../Prompt.js"
import { InvalidPrompt } from "../ProviderError.js"
import { estimateBlock, estimateRequest } from "../TokenCounter.js"

/** the simulator's placeholder for a cleared tool result */
export const CLEARED = "[tool result cleared]"

export interface ClearToolUses {
  readonly trigger: { readonly type: "input_tokens" | "tool_uses"; readonly value: number }
  readonly keep: number
  readonly clearAtLeast: number
  readonly excludeTools: ReadonlySet<string>
  readonly clearToolInputs: boolean | ReadonlySet<string>
}

/** what the response reports of an edit applied */
export interface AppliedEdit {
  readonly type: "clear_tool_uses_20250919"
  readonly cleared_tool_uses: number
  readonly cleared_input_tokens: number
}

const invalid = (path: string, detail: string) => new InvalidPrompt({ rule: "invalid_shape", path, detail: `${path}: ${detail}` })

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const count = (u: unknown, path: string, types: ReadonlyArray<string>): { readonly type: string; readonly value: number } | InvalidPrompt => {
  if (!isObject(u) || typeof u.type !== "string" || !types.includes(u.type) || !Number.isSafeInteger(u.value) || (u.value as number) < 0) {
    return invalid(path, `must be {type: ${types.map((t) => `"${t}"`).join(" | ")}, value: a non-negative integer}`)
  }
  return { type: u.type, value: u.value as number }
}

/** The edits of a request's `context_management`, or the first thing wrong with them (the API answers 400). */
export const parse = (contextManagement: unknown): ReadonlyArray<ClearToolUses> | InvalidPrompt => {
  if (contextManagement === undefined) return []
  if (!isObject(contextManagement) || !Array.isArray(contextManagement.edits)) {
    return invalid("context_management.edits", "must be an array")
  }
  const out: Array<ClearToolUses> = []
  for (let i = 0; i < contextManagement.edits.length; i++) {
    const edit: unknown = contextManagement.edits[i]
    const path = `context_management.edits.${i}`
    if (!isObject(edit) || edit.type !== "clear_tool_uses_20250919") {
      return invalid(`${path}.type`, `the simulator applies "clear_tool_uses_20250919" only`)
    }
    const trigger = edit.trigger === undefined ? { type: "input_tokens", value: 100_000 } : count(edit.trigger, `${path}.trigger`, ["input_tokens", "tool_uses"])
    if (trigger instanceof InvalidPrompt) return trigger
    const keep = edit.keep === undefined ? { type: "tool_uses", value: 3 } : count(edit.keep, `${path}.keep`, ["tool_uses"])
    if (keep instanceof InvalidPrompt) return keep
    const atLeast = edit.clear_at_least === undefined || edit.clear_at_least === null
      ? { type: "input_tokens", value: 0 }
      : count(edit.clear_at_least, `${path}.clear_at_least`, ["input_tokens"])
    if (atLeast instanceof InvalidPrompt) return atLeast
    const names = (u: unknown, field: string): ReadonlySet<string> | InvalidPrompt =>
      u === undefined || u === null
        ? new Set()
        : Array.isArray(u) && u.every((n) => typeof n === "string")
        ? new Set(u as ReadonlyArray<string>)
        : invalid(`${path}.${field}`, "must be an array of tool names")
    const exclude = names(edit.exclude_tools, "exclude_tools")
    if (exclude instanceof InvalidPrompt) return exclude
    const inputs = typeof edit.clear_tool_inputs === "boolean" ? edit.clear_tool_inputs : names(edit.clear_tool_inputs, "clear_tool_inputs")
    if (inputs instanceof InvalidPrompt) return inputs
    out.push({
      trigger: trigger as ClearToolUses["trigger"],
      keep: keep.value,
      clearAtLeast: atLeast.value,
      excludeTools: exclude,
      clearToolInputs: inputs
    })
  }
  return out
}

interface Use {
  readonly id: string
  readonly name: string
  readonly at: readonly [number, number]
  result?: readonly [number, number]
}

/** the tool uses of a conversation in order, each with where its result is */
const usesOf = (messages: ReadonlyArray<Message>): ReadonlyArray<Use> => {
  const uses: Array<Use> = []
  const byId = new Map<string, Use>()
  messages.forEach((message, m) =>
    contentBlocks(message).forEach((block, b) => {
      if (block.type === "tool_use") {
        const use: Use = { id: (block as ToolUseBlock).id, name: (block as ToolUseBlock).name, at: [m, b] }
        uses.push(use)
        byId.set(use.id, use)
      } else if (block.type === "tool_result") {
        const use = byId.get((block as ToolResultBlock).tool_use_id)
        if (use !== undefined) use.result = [m, b]
      }
    })
  )
  return uses
}

/** A request with its edits applied, and what each applied edit cleared. */
export const apply = (
  request: MessagesRequest,
  edits: ReadonlyArray<ClearToolUses>
): { readonly request: MessagesRequest; readonly applied: ReadonlyArray<AppliedEdit> } => {
  let current = request
  const applied: Array<AppliedEdit> = []
  for (const edit of edits) {
    const uses = usesOf(current.messages)
    const over = edit.trigger.type === "input_tokens" ? estimateRequest(current) > edit.trigger.value : uses.length > edit.trigger.value
    if (!over) continue
    const blocks = current.messages.map((m) => contentBlocks(m).slice())
    const changed = new Set<number>()
    const clearable = uses.slice(0, Math.max(0, uses.length - edit.keep)).filter((u) => !edit.excludeTools.has(u.name))
    let cleared = 0
    let tokens = 0
    for (const use of clearable) {
      const [rm, rb] = use.result ?? [-1, -1]
      const result = blocks[rm]?.[rb] as ToolResultBlock | undefined
      const clearInput = edit.clearToolInputs === true || (edit.clearToolInputs instanceof Set && edit.clearToolInputs.has(use.name))
      let saved = 0
      if (result !== undefined && result.content !== CLEARED) {
        const after: ToolResultBlock = { ...result, content: CLEARED }
        saved += estimateBlock(result) - estimateBlock(after)
        blocks[rm]![rb] = after
        changed.add(rm)
      }
      if (clearInput) {
        const before = blocks[use.at[0]]![use.at[1]] as ToolUseBlock
        if (Object.keys(before.input as object).length > 0) {
          const after: ToolUseBlock = { ...before, input: {} }
          saved += estimateBlock(before) - estimateBlock(after)
          blocks[use.at[0]]![use.at[1]] = after
          changed.add(use.at[0])
        }
      }
      if (saved > 0) {
        cleared++
        tokens += saved
      }
    }
    if (cleared === 0 || tokens < edit.clearAtLeast) continue
    current = {
      ...current,
      // messages not edited stay the same objects (their fingerprints are memoized per object)
      messages: current.messages.map((m, i): Message => (changed.has(i) ? { ...m, content: blocks[i] as Array<ContentBlock> } : m))
    }
    applied.push({ type: "clear_tool_uses_20250919", cleared_tool_uses: cleared, cleared_input_tokens: tokens })
  }
  return { request: current, applied }
}
