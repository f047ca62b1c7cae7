/**
 * The built-in workloads, generated deterministically (same bytes every run). docs/workload.md
 * describes each.
 */
import type { ContentBlock, Message, Tool } from "../Prompt.js"
import type { Workload } from "./WorkloadSchema.js"

const WORDS = (
  "the billing module computes invoices from usage records and applies discounts taxes and credits " +
  "each customer account has a plan a currency and a set of line items that are rounded to cents " +
  "when a refund is issued the ledger records a reversing entry and notifies the payments service " +
  "tests cover proration upgrades downgrades trial periods and failed card retries across time zones"
).split(" ")

/** deterministic prose of about `tokens` estimated tokens (4 characters a token); the generator's too */
export const prose = (tokens: number, seed: number): string => {
  const out: Array<string> = []
  let length = 0
  let x = seed * 2654435761 % 4294967296
  while (length < tokens * 4) {
    x = (x * 1103515245 + 12345) % 2147483648
    const word = WORDS[x % WORDS.length]!
    out.push(word)
    length += word.length + 1
  }
  return out.join(" ").slice(0, tokens * 4)
}

/** deterministic source code of about `tokens` tokens */
const code = (tokens: number, seed: number, file: string): string => {
  const lines: Array<string> = [`// ${file}`]
  let length = lines[0]!.length
  let i = 0
  while (length < tokens * 4) {
    const line = `export function step${seed}_${i}(input: Invoice): Invoice { return applyRule(input, ${(seed * 31 + i) % 97}) }`
    lines.push(line)
    length += line.length + 1
    i++
  }
  return lines.join("\n").slice(0, tokens * 4)
}

const tools: ReadonlyArray<Tool> = [
  ["read", "Read a file from the repository and return its contents with line numbers."],
  ["write", "Write a file, replacing its contents entirely."],
  ["edit", "Replace an exact string in a file with another string."],
  ["bash", "Run a shell command in the repository root and return stdout, stderr and the exit code."],
  ["grep", "Search the repository for a regular expression and return matching lines."],
  ["glob", "List files matching a glob pattern."],
  ["task", "Launch a sub-agent with its own context to carry out a focused task."],
  ["todo", "Update the task list shown to the user."]
].map(([name, description], i) => ({
  name: name!,
  description: `${description} ${prose(180, 100 + i)}`,
  input_schema: {
    type: "object",
    properties: { path: { type: "string" }, command: { type: "string" }, content: { type: "string" } }
  }
}))

const agentSystem = `You are a senior software engineer working as a coding agent. ${prose(6000, 1)}`

let toolId = 0
const nextId = () => `toolu_${(toolId++).toString().padStart(6, "0")}`

/** an assistant tool call and the user message with its result */
const call = (
  name: string,
  input: Record<string, unknown>,
  result: string,
  isError = false
): [Message, Message] => {
  const id = nextId()
  return [
    { role: "assistant", content: [{ type: "text", text: `Calling ${name}.` }, { type: "tool_use", id, name, input }] },
    {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: id, content: result, ...(isError ? { is_error: true } : {}) }]
    }
  ]
}

/** several calls in one assistant message, results in the next user message */
const calls = (
  list: ReadonlyArray<{ name: string; input: Record<string, unknown>; result: string; isError?: boolean }>
): [Message, Message] => {
  const ids = list.map(() => nextId())
  const assistant: Array<ContentBlock> = [{ type: "text", text: "Running several tools." }]
  list.forEach((c, i) => assistant.push({ type: "tool_use", id: ids[i]!, name: c.name, input: c.input }))
  return [
    { role: "assistant", content: assistant },
    {
      role: "user",
      content: list.map((c, i) => ({
        type: "tool_result" as const,
        tool_use_id: ids[i]!,
        content: c.result,
        ...(c.isError === true ? { is_error: true } : {})
      }))
    }
  ]
}

const fanOut3 = (topic: string) => [
  { prompt: `Sub-agent A: review ${topic} for correctness and list concrete defects.`, maxTokens: 300 },
  { prompt: `Sub-agent B: propose tests that would catch regressions in ${topic}.`, maxTokens: 300 },
  { prompt: `Sub-agent C: summarize ${topic} for the change log in three sentences.`, maxTokens: 300 }
]

const agentSession = (): Workload => {
  toolId = 0
  const billing = (v: number) => code(3500, v, "src/billing.ts")
  const currency = (v: number) => code(2500, v, "src/currency.ts")
  const tests = (v: number) => code(2000, v, "test/billing.test.ts")
  // an agent fixing a bug over 24 model steps: repeated reads of the same files, a failed command,
  // files written twice, long test output — the stale context a pruner exists for
  const steps: ReadonlyArray<readonly [string, [Message, Message]]> = [
    ["src/billing.ts", call("read", { path: "src/billing.ts" }, billing(1))],
    ["currency handling", calls([
      { name: "read", input: { path: "src/currency.ts" }, result: currency(2) },
      { name: "grep", input: { command: "round(" }, result: prose(800, 3) }
    ])],
    ["the failing test run", call("bash", { command: `npm test -- --grep rounding ${prose(900, 4)}` }, `FAIL ${prose(600, 5)}`, true)],
    ["src/billing.ts again", call("read", { path: "src/billing.ts" }, billing(1))],
    ["the tests", call("read", { path: "test/billing.test.ts" }, tests(1))],
    ["the first fix", call("write", { path: "src/billing.ts", content: billing(6) }, "written")],
    ["the test output", call("bash", { command: "npm test" }, `FAIL ${prose(1500, 7)}`)],
    ["the fixed billing module", call("read", { path: "./src/billing.ts" }, billing(6))],
    ["the second fix", call("write", { path: "src/billing.ts", content: billing(8) }, "written")],
    ["the test output", call("bash", { command: "npm  test" }, `FAIL ${prose(1500, 9)}`)],
    ["currency.ts", call("read", { path: "src/currency.ts" }, currency(2))],
    ["the currency fix", call("write", { path: "src/currency.ts", content: currency(10) }, "written")],
    ["the tests again", call("read", { path: "test/billing.test.ts" }, tests(1))],
    ["the new tests", call("write", { path: "test/billing.test.ts", content: tests(11) }, "written")],
    ["the test output", call("bash", { command: "npm test" }, `FAIL ${prose(1500, 12)}`)],
    ["src/billing.ts", call("read", { path: "src/billing.ts" }, billing(8))],
    ["the third fix", call("write", { path: "src/billing.ts", content: billing(13) }, "written")],
    ["the test output", call("bash", { command: "npm test" }, `PASS ${prose(1500, 14)}`)],
    ["the lint run", call("bash", { command: "npm run lint" }, `warnings ${prose(700, 15)}`)],
    ["src/currency.ts", call("read", { path: "src/currency.ts" }, currency(10))],
    ["the lint fix", call("edit", { path: "src/currency.ts", content: currency(16) }, "edited")],
    ["the lint run", call("bash", { command: "npm run lint" }, "clean")],
    ["the final tests", call("bash", { command: "npm test" }, `PASS ${prose(1500, 17)}`)],
    ["the task list", call("todo", { content: "rounding fixed; tests added" }, "ok")]
  ]
  return {
    name: "agent-session",
    model: "claude-sonnet-4-6",
    system: [{ type: "text", text: agentSystem }],
    tools,
    maxTokens: 300,
    turns: [
      {
        append: [{ role: "user", content: "Task: make invoice rounding correct across currencies, with tests." }],
        requests: fanOut3("the task")
      },
      ...steps.map(([topic, append]) => ({ append, requests: fanOut3(topic) }))
    ]
  }
}

const supportSystem = `You are the support assistant of Acme Billing. Policies follow. ${prose(10_000, 11)}`

const multiUserBurst = (): Workload => ({
  name: "multi-user-burst",
  model: "claude-sonnet-4-6",
  system: [{ type: "text", text: supportSystem }],
  tools: tools.slice(0, 3),
  sessions: 40,
  maxTokens: 250,
  turns: [
    {
      append: [{ role: "user", content: "Customer {session}: my invoice {session} shows a rounding error, why?" }],
      requests: [{ prompt: "Answer the customer briefly." }]
    },
    {
      idleSeconds: 40,
      append: [
        { role: "assistant", content: "It comes from currency conversion; I can correct invoice {session}." },
        { role: "user", content: "Customer {session}: yes please, and send me the corrected invoice." }
      ],
      requests: [{ prompt: "Answer the customer briefly." }]
    }
  ]
})

/**
 * A support service's day: the relative arrival rate by hour (a quiet night, a morning and an
 * afternoon peak), hour 0 = midnight.
 */
export const serviceDay: ReadonlyArray<number> = [
  0.1, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 1, 1.6, 2, 2, 1.8, 1.6, 1.8, 2, 2, 1.8, 1.5, 1.2, 1, 0.8, 0.6, 0.4, 0.2
]

/**
 * The multi-user burst's users arriving over a simulated day instead of all at once: `sessions` users
 * (default 2,000), a Poisson process shaped by {@link serviceDay} — about one user every 2 min at
 * night, one every 20 s at the peaks. Quiet hours let the shared prefix expire between users: TTL
 * expiry, keep-alive and warming decide the cost there.
 */
export const multiUserDay = (sessions = 2_000): Workload => ({
  ...multiUserBurst(),
  name: "multi-user-day",
  sessions,
  arrivals: { perSecond: sessions / 86_400, daily: serviceDay, seed: 1 }
})

const singleChat = (): Workload => {
  const turns: Array<Workload["turns"][number]> = []
  for (let t = 0; t < 8; t++) {
    turns.push({
      idleSeconds: t === 0 ? 0 : 30,
      append: [
        ...(t === 0 ? [] : [{ role: "assistant" as const, content: prose(150, 200 + t) }]),
        { role: "user" as const, content: `Question ${t + 1}: ${prose(60, 300 + t)}` }
      ],
      requests: [{ prompt: "Answer in a short paragraph." }]
    })
  }
  return {
    name: "single-chat",
    model: "claude-sonnet-4-6",
    system: [{ type: "text", text: `You are a helpful assistant. ${prose(3000, 21)}` }],
    maxTokens: 200,
    turns
  }
}

const idleGap = (): Workload => {
  const turns: Array<Workload["turns"][number]> = []
  for (let t = 0; t < 6; t++) {
    turns.push({
      idleSeconds: t === 0 ? 0 : 420,
      append: [
        ...(t === 0 ? [] : [{ role: "assistant" as const, content: prose(200, 400 + t) }]),
        { role: "user" as const, content: `After a break, step ${t + 1}: ${prose(80, 500 + t)}` }
      ],
      requests: [{ prompt: "Draft the change." }, { prompt: "Review the change." }]
    })
  }
  return {
    name: "idle-gap",
    model: "claude-sonnet-4-6",
    system: [{ type: "text", text: agentSystem }],
    tools,
    maxTokens: 200,
    turns
  }
}

/** the agent session on OpenAI's GPT-5.6 Terra: writes billed, explicit breakpoints */
const openaiAgent = (): Workload => ({ ...agentSession(), name: "openai-agent", model: "gpt-5.6-terra" })

/**
 * One 10k-token support prompt on GPT-5.6 Terra asked about 60 times a minute for four minutes (four
 * users, one question every 4 s each: 2.2 s answering, 1.8 s idle): over OpenAI's per-key routing
 * limit (about 15 a minute), where a single `prompt_cache_key` overflows.
 */
const openaiHotPrefix = (): Workload => ({
  name: "openai-hot-prefix",
  model: "gpt-5.6-terra",
  system: [{ type: "text", text: supportSystem }],
  sessions: 4,
  maxTokens: 150,
  turns: Array.from({ length: 60 }, (_, t) => ({
    idleSeconds: t === 0 ? 0 : 1.8,
    requests: [{ prompt: `User {session}, question ${t + 1}: ${prose(40, 700 + t)}` }]
  }))
})

export const builtinWorkloads: Readonly<Record<string, () => Workload>> = {
  "agent-session": agentSession,
  "openai-agent": openaiAgent,
  "openai-hot-prefix": openaiHotPrefix,
  "multi-user-burst": multiUserBurst,
  "multi-user-day": () => multiUserDay(),
  "single-chat": singleChat,
  "idle-gap": idleGap
}
