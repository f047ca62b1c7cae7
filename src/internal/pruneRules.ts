/**
 * Pruning rules: pure functions over a conversation that mark blocks, and one step that applies marks.
 * Marks are keyed by tool_use id, so they stay valid as the conversation grows.
 */
import { posix } from "node:path"
import type { ContentBlock, Message, ToolResultBlock, ToolUseBlock } from "../Prompt.js"
import { contentBlocks } from "../Prompt.js"
import { estimateBlock } from "../TokenCounter.js"
import { canonicalJson, canonicalJsonOf, memoizedPerObject } from "./canonical.js"
import { ObjectMemo } from "./objectMemo.js"

export type RuleName = "deduplication" | "superseded_writes" | "error_purging" | "superseded_results" | "age"

export const PLACEHOLDERS = {
  result: "[Output removed to save context - information superseded or no longer needed]",
  failedInput: "[input removed due to failed tool call]",
  age: "[Old tool result content cleared]",
  supersededWrite: "[content removed - the file was written again later]"
} as const

/** what a mark replaces: a tool_result's content, or the string values of a tool_use's input */
export type Target = "result" | "input"

export interface Mark {
  readonly toolUseId: string
  readonly target: Target
  readonly rule: RuleName
  readonly placeholder: string
}

/** marks keyed by (tool_use id, target), without building joined keys; insertion order kept */
export class MarkSet {
  private readonly byTarget = { result: new Map<string, Mark>(), input: new Map<string, Mark>() }
  private readonly list: Array<Mark> = []
  has(m: Pick<Mark, "toolUseId" | "target">): boolean {
    return this.byTarget[m.target].has(m.toolUseId)
  }
  add(m: Mark): void {
    if (this.has(m)) return
    this.byTarget[m.target].set(m.toolUseId, m)
    this.list.push(m)
  }
  values(): ReadonlyArray<Mark> {
    return this.list
  }
}

export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly input: unknown
  readonly useMessage: number
  readonly useBlock: number
  readonly resultMessage: number | undefined
  readonly resultBlock: number | undefined
  readonly isError: boolean
  /** the step of the call: the number of assistant messages up to and including its own */
  readonly turn: number
  /** position in call order */
  readonly order: number
}

export interface Conversation {
  readonly messages: ReadonlyArray<Message>
  readonly calls: ReadonlyArray<ToolCall>
  readonly byId: ReadonlyMap<string, ToolCall>
  readonly turns: number
}

export const analyze = (messages: ReadonlyArray<Message>): Conversation => {
  const calls: Array<ToolCall> = []
  const pending = new Map<string, { name: string; input: unknown; m: number; b: number; turn: number }>()
  let turn = 0
  messages.forEach((message, m) => {
    // an agent turn is one model step: each assistant message starts one
    if (message.role === "assistant") turn++
    contentBlocks(message).forEach((block, b) => {
      if (block.type === "tool_use") {
        const u = block as ToolUseBlock
        pending.set(u.id, { name: u.name, input: u.input, m, b, turn })
      } else if (block.type === "tool_result") {
        const r = block as ToolResultBlock
        const use = pending.get(r.tool_use_id)
        if (use === undefined) return
        pending.delete(r.tool_use_id)
        calls.push({
          id: r.tool_use_id,
          name: use.name,
          input: use.input,
          useMessage: use.m,
          useBlock: use.b,
          resultMessage: m,
          resultBlock: b,
          isError: r.is_error === true,
          turn: use.turn,
          order: calls.length
        })
      }
    })
  })
  return { messages, calls, byId: new Map(calls.map((call) => [call.id, call] as const)), turns: turn }
}

export interface RuleConfig {
  readonly errorAfterTurns: number
  readonly keepToolUses: number | undefined
  readonly keepResultTokens: number | undefined
  readonly writeTools: ReadonlySet<string>
  readonly readTools: ReadonlySet<string>
}

const PATH_KEYS = ["path", "file_path", "filePath", "file", "filename"]
const COMMAND_KEYS = ["command", "cmd"]

/** the normalized path an input names, "" if none (normalizing never gives ""); memoized per input */
const normalizedPath = memoizedPerObject((input) => {
  if (typeof input !== "object" || input === null) return ""
  for (const k of PATH_KEYS) {
    const v = (input as Record<string, unknown>)[k]
    if (typeof v === "string") return posix.normalize(v.replace(/^\.\//, ""))
  }
  return ""
})

const pathOf = (input: unknown): string | undefined => {
  const path = normalizedPath(input)
  return path === "" ? undefined : path
}

/** arguments with paths normalized and commands' white space folded (memoized per input object) */
const normalizedArgs = memoizedPerObject((input) =>
  typeof input === "object" && input !== null ? normalize(input) : canonicalJson(input)
)

function normalize(input: object): string {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    if (typeof v === "string" && PATH_KEYS.includes(k)) out[k] = posix.normalize(v.replace(/^\.\//, ""))
    else if (typeof v === "string" && COMMAND_KEYS.includes(k)) out[k] = v.trim().replace(/\s+/g, " ")
    else out[k] = v
  }
  return canonicalJson(out)
}

/** a map keyed by (tool name, argument string) without building joined keys */
class ByCall<V> {
  private readonly maps = new Map<string, Map<string, V>>()
  get(name: string, args: string): V | undefined {
    return this.maps.get(name)?.get(args)
  }
  set(name: string, args: string, value: V): void {
    let inner = this.maps.get(name)
    if (inner === undefined) {
      inner = new Map()
      this.maps.set(name, inner)
    }
    inner.set(args, value)
  }
}

/** identical calls (same name, canonical input): every result but the latest */
export const deduplication = (c: Conversation): ReadonlyArray<Mark> => {
  const latest = new ByCall<string>()
  for (const call of c.calls) latest.set(call.name, canonicalJsonOf(call.input), call.id)
  return c.calls
    .filter((call) => !call.isError && latest.get(call.name, canonicalJsonOf(call.input)) !== call.id)
    .map((call) => ({ toolUseId: call.id, target: "result", rule: "deduplication", placeholder: PLACEHOLDERS.result }))
}

/** an older write/edit of a path when a later successful write of the same path exists: its content */
export const supersededWrites = (c: Conversation, config: RuleConfig): ReadonlyArray<Mark> => {
  const lastWrite = new Map<string, number>()
  for (const call of c.calls) {
    const path = pathOf(call.input)
    if (path !== undefined && config.writeTools.has(call.name) && !call.isError) lastWrite.set(path, call.order)
  }
  return c.calls
    .filter((call) => {
      const path = pathOf(call.input)
      if (path === undefined || !config.writeTools.has(call.name)) return false
      const last = lastWrite.get(path)
      return last !== undefined && last > call.order
    })
    .map((call) => ({
      toolUseId: call.id,
      target: "input",
      rule: "superseded_writes",
      placeholder: PLACEHOLDERS.supersededWrite
    }))
}

/** tool calls that errored more than N turns ago: their inputs (the error text stays) */
export const errorPurging = (c: Conversation, config: RuleConfig): ReadonlyArray<Mark> =>
  c.calls
    .filter((call) => call.isError && c.turns - call.turn >= config.errorAfterTurns)
    .map((call) => ({ toolUseId: call.id, target: "input", rule: "error_purging", placeholder: PLACEHOLDERS.failedInput }))

/** older successful read/shell results with identical normalized arguments */
export const supersededResults = (c: Conversation, config: RuleConfig): ReadonlyArray<Mark> => {
  const latest = new ByCall<number>()
  for (const call of c.calls) {
    if (config.readTools.has(call.name) && !call.isError) latest.set(call.name, normalizedArgs(call.input), call.order)
  }
  return c.calls
    .filter((call) =>
      config.readTools.has(call.name) && !call.isError &&
      (latest.get(call.name, normalizedArgs(call.input)) ?? call.order) > call.order
    )
    .map((call) => ({ toolUseId: call.id, target: "result", rule: "superseded_results", placeholder: PLACEHOLDERS.result }))
}

/** tool results beyond the last K tool uses, or beyond a budget of result tokens (newest kept) */
export const ageBased = (c: Conversation, config: RuleConfig): ReadonlyArray<Mark> => {
  const out: Array<Mark> = []
  let kept = 0
  let keptTokens = 0
  for (let i = c.calls.length - 1; i >= 0; i--) {
    const call = c.calls[i]!
    const tokens = call.resultMessage === undefined ? 0 : resultTokens(c.messages, call)
    const overCount = config.keepToolUses !== undefined && kept >= config.keepToolUses
    const overBudget = config.keepResultTokens !== undefined && keptTokens + tokens > config.keepResultTokens
    if (overCount || overBudget) {
      out.push({ toolUseId: call.id, target: "result", rule: "age", placeholder: PLACEHOLDERS.age })
    } else {
      kept++
      keptTokens += tokens
    }
  }
  return out
}

const resultTokens = (messages: ReadonlyArray<Message>, call: ToolCall): number => {
  const block = contentBlocks(messages[call.resultMessage!]!)[call.resultBlock!]
  return block === undefined ? 0 : estimateBlock(block)
}

const replaceStrings = (input: unknown, placeholder: string): unknown => {
  if (typeof input !== "object" || input === null) return typeof input === "string" ? placeholder : input
  if (Array.isArray(input)) return input.map((v) => replaceStrings(v, placeholder))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    // paths stay, so the call still says what it touched
    out[k] = PATH_KEYS.includes(k) && typeof v === "string" ? v : replaceStrings(v, placeholder)
  }
  return out
}

/**
 * Edits are applied again to every new version of a conversation: the same edit of the same block (or
 * message) gives the very same object each time, so the prefix positions, digests and token estimates
 * memoized per object stay valid from one turn to the next.
 */
const editedBlocks = new ObjectMemo<Record<Target, Map<string, ContentBlock>>>("editedBlocks")

const edited = (before: ContentBlock, target: Target, placeholder: string, make: () => object): ContentBlock => {
  let byEdit = editedBlocks.get(before)
  if (byEdit === undefined) {
    byEdit = { result: new Map(), input: new Map() }
    editedBlocks.set(before, byEdit)
  }
  // placeholders are a few constant strings: looked up without building a key
  let after = byEdit[target].get(placeholder)
  if (after === undefined) {
    after = make() as ContentBlock
    byEdit[target].set(placeholder, after)
  }
  return after
}

const editedMessages = new ObjectMemo<{ readonly content: ReadonlyArray<ContentBlock>; readonly message: Message }>("editedMessages")

const editedMessage = (message: Message, content: ReadonlyArray<ContentBlock>): Message => {
  const memo = editedMessages.get(message)
  if (memo !== undefined && memo.content.length === content.length && memo.content.every((b, i) => b === content[i])) {
    return memo.message
  }
  const next: Message = { ...message, content: content as Array<ContentBlock> }
  editedMessages.set(message, { content, message: next })
  return next
}

/** whether an edit leaves a block as it was (a mark applied twice) */
const unchanged = (before: ContentBlock, after: ContentBlock): boolean => {
  if (before.type === "tool_result") {
    return (before as ToolResultBlock).content === (after as ToolResultBlock).content
  }
  return canonicalJsonOf((before as ToolUseBlock).input) === canonicalJsonOf((after as ToolUseBlock).input)
}

export interface Applied {
  readonly messages: ReadonlyArray<Message>
  /** tokens saved per rule by the marks that changed something */
  readonly savedByRule: Readonly<Record<string, number>>
  /** first message index changed, if any */
  readonly earliestMessage: number | undefined
}

/**
 * Applies marks: replaces content, keeps every block, id and `is_error`, so pairing holds.
 * Idempotent: a mark whose block already holds its placeholder changes nothing.
 */
export const apply = (c: Conversation, marks: ReadonlyArray<Mark>): Applied => {
  const edits = new Map<number, Map<number, ContentBlock>>()
  const saved: Record<string, number> = {}
  let earliest: number | undefined
  const edit = (m: number, b: number, block: ContentBlock, before: ContentBlock, rule: string) => {
    const delta = estimateBlock(before) - estimateBlock(block)
    if (unchanged(before, block)) return
    const inner = edits.get(m) ?? new Map<number, ContentBlock>()
    inner.set(b, block)
    edits.set(m, inner)
    saved[rule] = (saved[rule] ?? 0) + Math.max(0, delta)
    earliest = earliest === undefined ? m : Math.min(earliest, m)
  }
  const current = (m: number, b: number) => edits.get(m)?.get(b) ?? contentBlocks(c.messages[m]!)[b]!
  for (const mark of marks) {
    const call = c.byId.get(mark.toolUseId)
    if (call === undefined) continue
    if (mark.target === "result" && call.resultMessage !== undefined) {
      const before = current(call.resultMessage, call.resultBlock!) as ToolResultBlock
      const after = edited(before, "result", mark.placeholder, () => ({ ...before, content: mark.placeholder }))
      edit(call.resultMessage, call.resultBlock!, after, before, mark.rule)
    } else if (mark.target === "input") {
      const before = current(call.useMessage, call.useBlock) as ToolUseBlock
      const after = edited(before, "input", mark.placeholder, () => ({ ...before, input: replaceStrings(before.input, mark.placeholder) }))
      edit(call.useMessage, call.useBlock, after, before, mark.rule)
    }
  }
  if (edits.size === 0) return { messages: c.messages, savedByRule: saved, earliestMessage: undefined }
  const messages = c.messages.map((message, m): Message => {
    const inner = edits.get(m)
    if (inner === undefined) return message
    return editedMessage(message, contentBlocks(message).map((block, b) => inner.get(b) ?? block))
  })
  return { messages, savedByRule: saved, earliestMessage: earliest }
}

/** estimated tokens of messages[from..] */
export const tokensFrom = (messages: ReadonlyArray<Message>, from: number): number => {
  let n = 0
  for (let m = from; m < messages.length; m++) {
    n += 3
    for (const block of contentBlocks(messages[m]!)) n += estimateBlock(block)
  }
  return n
}

