import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Report from "../src/bench/Report.js"
import * as Runner from "../src/bench/Runner.js"
import * as Workload from "../src/bench/Workload.js"
import * as CacheMetrics from "../src/CacheMetrics.js"
import { LanguageModel } from "../src/LanguageModel.js"
import * as MissDiagnosis from "../src/MissDiagnosis.js"
import * as Pipeline from "../src/Pipeline.js"
import * as SimulatedPipeline from "../src/simulator/SimulatedPipeline.js"
import * as SimulatedProvider from "../src/simulator/SimulatedProvider.js"
import * as VirtualTime from "../src/simulator/VirtualTime.js"
import * as Prefix from "../src/Prefix.js"
import type { Message, MessagesRequest } from "../src/Prompt.js"
import type { Usage } from "../src/Response.js"
import { MODEL, textOfTokens } from "./fixtures.js"

const BP = { type: "ephemeral" } as const

const text = (tokens: number, salt: string, marked = false) => ({
  type: "text" as const,
  text: textOfTokens(tokens, salt),
  ...(marked ? { cache_control: BP } : {})
})
const msg = (role: "user" | "assistant", tokens: number, salt: string, marked = false): Message => ({
  role,
  content: [text(tokens, salt, marked)]
})

/** a system prompt of two blocks (the second marked) and `history` messages, the last one marked */
const request = (history: ReadonlyArray<Message>, system: ReadonlyArray<string> = ["s1", "s2"], extra: Partial<MessagesRequest> = {}): MessagesRequest => ({
  model: MODEL,
  max_tokens: 100,
  system: [text(1500, system[0]!), text(1500, system[1]!, true)],
  messages: history.map((m, i) => (i === history.length - 1 ? { ...m, content: (m.content as ReadonlyArray<object>).map((b) => ({ ...b, cache_control: BP })) } : m)) as Array<Message>,
  ...extra
})

const history = (n: number, salt = "h") =>
  Array.from({ length: n }, (_, i) => msg(i % 2 === 0 ? "user" : "assistant", 300, `${salt}${i}`))

const total = (r: MessagesRequest) => {
  const all = Prefix.positions(r)
  return all[all.length - 1]!.cumulativeTokens
}
const lastBreakpoint = (r: MessagesRequest) => {
  const bps = Prefix.breakpoints(r)
  return bps[bps.length - 1]!.position.cumulativeTokens
}
/** what the cache bills a request that read `read` tokens and wrote up to its last breakpoint */
const usage = (r: MessagesRequest, read: number, writes = true): Usage => {
  const cachedTo = writes ? lastBreakpoint(r) : read
  return { input: total(r) - cachedTo, cacheCreation5m: cachedTo - read, cacheCreation1h: 0, cacheRead: read, output: 10 }
}

/** one call sent at `at`, begun and settled at `at + 1` (the entries it writes readable then) */
const call = (ledger: MissDiagnosis.Ledger, r: MessagesRequest, at: number, read: number, min = 1024) => {
  const ticket = ledger.send(MissDiagnosis.sentOf(r, min, at))
  return ledger.settle(ticket, usage(r, read), at + 1)
}

describe("MissDiagnosis: each reason from what was sent", () => {
  it("a prefix never cached is a first sight; the same prefix read later misses nothing", () => {
    const ledger = MissDiagnosis.makeLedger()
    const r = request(history(3))
    expect(call(ledger, r, 0, 0)).toEqual([{ reason: "first_sight", tokens: lastBreakpoint(r) }])
    expect(call(ledger, r, 10, lastBreakpoint(r))).toEqual([])
  })

  it("a writer of the same prefix sent and not begun when this one was sent: concurrent_writer", () => {
    const ledger = MissDiagnosis.makeLedger()
    const r = request(history(3))
    const a = ledger.send(MissDiagnosis.sentOf(r, 1024, 0))
    const b = ledger.send(MissDiagnosis.sentOf(r, 1024, 0))
    expect(ledger.settle(a, usage(r, 0), 5)).toEqual([{ reason: "first_sight", tokens: lastBreakpoint(r) }])
    expect(ledger.settle(b, usage(r, 0), 5)).toEqual([{ reason: "concurrent_writer", tokens: lastBreakpoint(r) }])
  })

  it("a writer that had begun is no race: a request sent after it that still wrote finds its entry evicted", () => {
    const ledger = MissDiagnosis.makeLedger()
    const r = request(history(3))
    const a = ledger.send(MissDiagnosis.sentOf(r, 1024, 0))
    ledger.begun(a)
    ledger.settle(a, usage(r, 0), 2)
    expect(call(ledger, r, 3, 0)).toEqual([{ reason: "evicted", tokens: lastBreakpoint(r) }])
  })

  it("an entry past its TTL: ttl_expired (5 minutes after its last write or read)", () => {
    const ledger = MissDiagnosis.makeLedger()
    const r = request(history(3))
    call(ledger, r, 0, 0)
    call(ledger, r, 200_000, lastBreakpoint(r)) // the read refreshes it until 500,000
    expect(call(ledger, r, 450_000, lastBreakpoint(r))).toEqual([])
    expect(call(ledger, r, 750_001, 0)).toEqual([{ reason: "ttl_expired", tokens: lastBreakpoint(r) }])
  })

  it("a changed system block: system_changed, and where", () => {
    const ledger = MissDiagnosis.makeLedger()
    call(ledger, request(history(3)), 0, 0)
    const changed = request(history(3), ["s1", "s2 edited"])
    // the first system block is still cached (its tokens were not a breakpoint of the first request:
    // nothing reads them), so the change is all written
    expect(call(ledger, changed, 10, 0)).toEqual([{ reason: "system_changed", where: "system 1", tokens: lastBreakpoint(changed) }])
  })

  it("an edited earlier message: messages_changed at that message, after the system prompt it read", () => {
    const ledger = MissDiagnosis.makeLedger()
    const before = request(history(5))
    call(ledger, before, 0, 0)
    const edited = request([history(5)[0]!, msg("assistant", 100, "pruned"), ...history(5).slice(2)])
    const system = Prefix.positions(edited)[1]!.cumulativeTokens
    expect(call(ledger, edited, 10, system)).toEqual([
      { reason: "messages_changed", where: "message 1", tokens: lastBreakpoint(edited) - system }
    ])
  })

  it("messages appended after what was cached are a first sight, and so are the different last messages of a fan-out", () => {
    const ledger = MissDiagnosis.makeLedger()
    const turn1 = request(history(3))
    call(ledger, turn1, 0, 0)
    const turn2 = request([...history(3), msg("assistant", 200, "a"), msg("user", 200, "u")])
    expect(call(ledger, turn2, 10, lastBreakpoint(turn1))).toEqual([
      { reason: "first_sight", tokens: lastBreakpoint(turn2) - lastBreakpoint(turn1) }
    ])
    const sibling = request([...history(3), msg("assistant", 200, "a"), msg("user", 200, "another sub-agent")])
    expect(call(ledger, sibling, 20, lastBreakpoint(turn1))).toEqual([
      { reason: "first_sight", tokens: lastBreakpoint(sibling) - lastBreakpoint(turn1) }
    ])
  })

  it("a turn's prompt merged into its last message and gone from the next turn's history is no change: first sight", () => {
    const ledger = MissDiagnosis.makeLedger()
    const conversation = history(3)
    const withPrompt = (messages: ReadonlyArray<Message>, prompt: string): Array<Message> => {
      const last = messages[messages.length - 1]!
      return [...messages.slice(0, -1), { ...last, content: [...(last.content as Array<never>), text(100, prompt)] }]
    }
    const turn1 = request(withPrompt(conversation, "prompt 1"))
    const sent = (r: MessagesRequest, at: number, read: number) =>
      ledger.settle(ledger.send(MissDiagnosis.sentOf(r, 1024, at, "chat")), usage(r, read), at + 1)
    sent(turn1, 0, 0)
    const turn2 = request(withPrompt([...conversation, msg("assistant", 200, "a"), msg("user", 200, "u")], "prompt 2"))
    const read = Prefix.positions(turn2)[1]!.cumulativeTokens
    expect(sent(turn2, 10, read)).toEqual([{ reason: "first_sight", tokens: lastBreakpoint(turn2) - read }])
  })

  it("a conversation's last prompt is kept until the conversation is forgotten", () => {
    const ledger = MissDiagnosis.makeLedger()
    for (const id of ["a", "b"]) {
      const r = request(history(3, id))
      ledger.settle(ledger.send(MissDiagnosis.sentOf(r, 1024, 0, id)), usage(r, 0), 1)
    }
    expect(ledger.conversations()).toBe(2)
    ledger.forget("a")
    expect(ledger.conversations()).toBe(1)
  })

  it("another tool_choice or thinking setting: setting_changed", () => {
    const ledger = MissDiagnosis.makeLedger()
    const plain = request(history(3))
    call(ledger, plain, 0, 0)
    const forced = request(history(3), undefined, { tool_choice: { type: "any" }, tools: [] })
    const system = Prefix.positions(forced)[1]!.cumulativeTokens
    expect(call(ledger, forced, 10, system)).toEqual([
      { reason: "setting_changed", where: "tool_choice/thinking", tokens: lastBreakpoint(forced) - system }
    ])
  })

  it("a longer prefix cached more than 20 positions before the only breakpoint: lookback up to it, the rest its own reason", () => {
    const ledger = MissDiagnosis.makeLedger()
    const turn1 = request(history(3))
    call(ledger, turn1, 0, 0)
    const long = request([...history(3), ...history(24, "more")])
    const system = Prefix.positions(long)[1]!.cumulativeTokens
    const misses = call(ledger, long, 10, system)
    expect(misses).toEqual([
      { reason: "lookback", tokens: lastBreakpoint(turn1) - system },
      { reason: "first_sight", tokens: lastBreakpoint(long) - lastBreakpoint(turn1) }
    ])
  })

  it("a prompt shorter than the model's minimum at every breakpoint: below_minimum, the tokens sent uncached", () => {
    const ledger = MissDiagnosis.makeLedger()
    const r = request(history(3))
    const ticket = ledger.send(MissDiagnosis.sentOf(r, 100_000, 0))
    const u: Usage = { input: total(r), cacheCreation5m: 0, cacheCreation1h: 0, cacheRead: 0, output: 10 }
    expect(ledger.settle(ticket, u, 1)).toEqual([{ reason: "below_minimum", tokens: lastBreakpoint(r) }])
  })

  it("tokens follow the provider's count: estimates only split them", () => {
    const ledger = MissDiagnosis.makeLedger()
    const r = request(history(3))
    const ticket = ledger.send(MissDiagnosis.sentOf(r, 1024, 0))
    const u = usage(r, 0)
    const scaled: Usage = { ...u, input: Math.round(u.input * 1.1), cacheCreation5m: Math.round(u.cacheCreation5m * 1.1) }
    expect(ledger.settle(ticket, scaled, 1)).toEqual([{ reason: "first_sight", tokens: scaled.cacheCreation5m }])
  })
})

// ---------------------------------------------------------------------------------------------------
// Against the simulator's own store, on whole workloads
// ---------------------------------------------------------------------------------------------------

/** runs a workload on a simulator it can inspect afterwards: the report, and the simulator's calls */
const runInspected = (workload: Workload.Workload, warming: "off" | "auto" | "always", pruning: boolean) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(SimulatedProvider.layer())
    const { report } = yield* VirtualTime.run(
      Runner.run(workload, { warming, pruning, provider: "simulated", simulatedTime: true }, Layer.succeedContext(context))
    )
    const calls = yield* Context.get(context, SimulatedProvider.Simulator).calls
    return { report, calls }
  }).pipe(Effect.scoped)

/** the library's reasons in the simulator's terms: a prefix the store never held is `uncached` */
const asStore = (reasons: Readonly<Record<string, number>>) => {
  const out: Record<string, number> = {}
  for (const [reason, tokens] of Object.entries(reasons)) {
    if (reason === "below_minimum" || tokens === 0) continue
    const key = reason === "first_sight" || reason.endsWith("_changed") ? "uncached" : reason
    out[key] = (out[key] ?? 0) + tokens
  }
  return out
}
const storeTruth = (calls: ReadonlyArray<SimulatedProvider.CallRecord>, warm: boolean) => {
  const out: Record<string, number> = {}
  for (const c of calls) {
    if (c.outcome !== "success" || (c.maxTokens === 0) !== warm) continue
    for (const m of c.misses) out[m.reason] = (out[m.reason] ?? 0) + m.tokens
  }
  return out
}

describe("MissDiagnosis against the simulator's store, call kinds apart", () => {
  const cases: ReadonlyArray<readonly [string, "off" | "auto" | "always", boolean]> = [
    ["agent-session", "off", false],
    ["agent-session", "auto", true],
    ["agent-session", "always", true],
    ["multi-user-burst", "off", false],
    ["multi-user-burst", "auto", false],
    ["idle-gap", "off", false],
    ["idle-gap", "auto", true],
    ["single-chat", "auto", false]
  ]
  for (const [name, warming, pruning] of cases) {
    it.effect(`${name}, warming ${warming}, pruning ${pruning ? "on" : "off"}: the same reasons and tokens`, () =>
      Effect.gen(function*() {
        const { calls, report } = yield* runInspected(Option.getOrThrow(Workload.builtin(name)), warming, pruning)
        expect(asStore(report.missReasons.request)).toEqual(storeTruth(calls, false))
        expect(asStore(report.missReasons.warm)).toEqual(storeTruth(calls, true))
      }), 60_000)
  }
})

describe("MissDiagnosis: the issue's checks", () => {
  it.effect("agent-session: with warming off most write tokens are a concurrent writer's; with auto none are", () =>
    Effect.gen(function*() {
      const workload = Option.getOrThrow(Workload.builtin("agent-session"))
      const off = (yield* runInspected(workload, "off", false)).report
      const auto = (yield* runInspected(workload, "auto", false)).report
      const written = (r: Report.Report) => r.calls.request.cacheCreationInputTokens + r.calls.warm.cacheCreationInputTokens
      expect(off.missReasons.request.concurrent_writer ?? 0).toBeGreaterThan(written(off) / 2)
      expect((auto.missReasons.request.concurrent_writer ?? 0) + (auto.missReasons.warm.concurrent_writer ?? 0)).toBe(0)
      // every written token has a reason
      const sum = (r: Report.Report) =>
        [r.missReasons.request, r.missReasons.warm].flatMap((m) => Object.entries(m))
          .filter(([k]) => k !== "below_minimum").reduce((n, [, v]) => n + v, 0)
      expect(sum(off)).toBe(written(off))
      expect(sum(auto)).toBe(written(auto))
    }), 60_000)

  it.effect("a system prompt that changes at turn 5: system_changed at turn 5 and nowhere else", () =>
    Effect.gen(function*() {
      const base = Option.getOrThrow(Workload.builtin("single-chat"))
      const system = `${textOfTokens(3000, "policy")} Version 2 of the policy.`
      const workload: Workload.Workload = {
        ...base,
        turns: base.turns.map((t, i) => (i === 4 ? { ...t, system } : t))
      }
      // the turn of each request, by the order the runner sends them (one request per turn)
      const { calls, report } = yield* runInspected(workload, "auto", false)
      expect(report.missReasons.request.system_changed).toBeGreaterThan(0)
      const perTurn = yield* turnByTurn(workload)
      perTurn.forEach((reasons, turn) => {
        if (turn === 4) expect(Object.keys(reasons)).toEqual(["system_changed"])
        else expect(reasons.system_changed).toBeUndefined()
      })
      expect(calls.filter((c) => c.maxTokens > 0)).toHaveLength(base.turns.length)
    }), 60_000)
})

/** the reasons of each turn, read from the spans of a run through the pipeline turn by turn */
const turnByTurn = (workload: Workload.Workload) =>
  Effect.gen(function*() {
    const metrics = yield* CacheMetrics.CacheMetrics
    const pipeline = yield* Pipeline.Pipeline
    const out: Array<Record<string, number>> = []
    let conversation: MessagesRequest | undefined
    let before: Record<string, number> = {}
    for (let t = 0; t < workload.turns.length; t++) {
      conversation = Workload.conversationAt(workload, 0, t, conversation)
      const prompts = Workload.promptsAt(workload, 0, t)
      yield* pipeline.turn({ sessionId: "s", conversation, prompts })
      const now = (yield* metrics.snapshot).calls.request.missReasons
      out.push(Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0)))
      before = now
    }
    return out
  }).pipe(Effect.provide(SimulatedPipeline.layer({ warmer: { policy: "auto" } })), VirtualTime.run)

describe("the API's own diagnosis (Anthropic's cache diagnostics, beta) beside the library's", () => {
  const run = (workload: Workload.Workload, warming: "off" | "auto", pruning = false) =>
    VirtualTime.run(Runner.run(workload, { warming, pruning, provider: "simulated", simulatedTime: true, cacheDiagnostics: true }, SimulatedProvider.layer()))

  it.effect("a system prompt changed at turn 5: the API says system_changed for the calls that wrote it, and the library agrees", () =>
    Effect.gen(function*() {
      const base = Option.getOrThrow(Workload.builtin("single-chat"))
      const workload: Workload.Workload = {
        ...base,
        turns: base.turns.map((t, i) => (i === 4 ? { ...t, system: `${textOfTokens(3000, "policy")} Version 2.` } : t))
      }
      const { report } = yield* run(workload, "auto")
      expect(report.details.apiDiagnoses.compared).toBeGreaterThan(0)
      expect(report.details.apiDiagnoses.disagreed).toBe(0)
    }), 60_000)

  for (const [name, warming, pruning] of [["agent-session", "off", false], ["agent-session", "auto", true], ["idle-gap", "auto", false]] as const) {
    it.effect(`${name}, warming ${warming}, pruning ${pruning ? "on" : "off"}: the two agree on every call compared`, () =>
      Effect.gen(function*() {
        const { report } = yield* run(Option.getOrThrow(Workload.builtin(name)), warming, pruning)
        expect(report.details.apiDiagnoses).toEqual({ compared: report.details.apiDiagnoses.compared, disagreed: 0 })
      }), 60_000)
  }
})

describe("a prompt altered on its way to the API", () => {
  it.effect("the API's diagnosis differs from what the library sent, and the run says so", () =>
    Effect.gen(function*() {
      // something between the library and the API (a proxy that stamps the time into the system
      // prompt) changes every request from the third on
      let sent = 0
      const stamping = Layer.effect(
        LanguageModel,
        Effect.map(Effect.provide(LanguageModel, SimulatedProvider.layer()), (lm) => {
          const stamp = (r: MessagesRequest): MessagesRequest =>
            ++sent < 3 || r.max_tokens === 0 ? r : { ...r, system: `${typeof r.system === "string" ? r.system : (r.system ?? []).map((b) => b.text).join("")} ${sent}` }
          return { ...lm, create: (r: MessagesRequest) => lm.create(stamp(r)), stream: (r: MessagesRequest) => lm.stream(stamp(r)), streamResponse: undefined }
        })
      )
      const { report } = yield* VirtualTime.run(Runner.run(
        Option.getOrThrow(Workload.builtin("single-chat")),
        { warming: "auto", pruning: false, provider: "simulated", simulatedTime: true, cacheDiagnostics: true },
        stamping
      ))
      expect(report.details.apiDiagnoses.disagreed).toBeGreaterThan(0)
      expect(Report.renderText(report)).toContain(`the API's diagnosis differs on ${report.details.apiDiagnoses.disagreed} of`)
    }), 60_000)
})

describe("the API's context editing", () => {
  it.effect("what the server's clearing rewrote is named context_edited, never evicted", () =>
    Effect.gen(function*() {
      const { report } = yield* VirtualTime.run(Runner.run(
        Option.getOrThrow(Workload.builtin("agent-session")),
        { warming: "auto", pruning: "server", provider: "simulated", simulatedTime: true },
        SimulatedProvider.layer()
      ))
      expect(report.missReasons.request.context_edited).toBeGreaterThan(0)
      expect(report.missReasons.request.evicted).toBeUndefined()
      expect(MissDiagnosis.withContextEdits([{ reason: "evicted", tokens: 5 }], 0)).toEqual([{ reason: "evicted", tokens: 5 }])
    }), 60_000)
})
