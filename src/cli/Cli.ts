/**
 * The command tree of `effect-prompt-cache`: `run`, `bench`, `serve`; with no arguments, `bench` on
 * the agent-session workload with the simulator.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Demo from "../bench/Demo.js"
import type * as BenchCommand from "./BenchCommand.js"
import type * as RunCommand from "./RunCommand.js"
import type * as ProxyCommand from "./ProxyCommand.js"
import type * as ServeCommand from "./ServeCommand.js"
import type * as SoakCommand from "./SoakCommand.js"
import * as SimulatedProvider from "../simulator/SimulatedProvider.js"
import * as VirtualTime from "../simulator/VirtualTime.js"
import * as Workload from "../bench/Workload.js"

/** an integer flag that must lie in [min, max]: outside, one line naming the flag and the range */
/**
 * A command's module, imported when that command runs: the program loads what it runs (`bench` on the
 * simulator never loads the HTTP servers of `serve` and `proxy`, nor a provider's SDK it does not use).
 */
const lazily = <M, A, E, R>(load: () => Promise<M>, run: (module: M) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.promise(load), run)

const integerIn = (name: string, min: number, max: number) =>
  Options.integer(name).pipe(
    Options.filterMap(
      (n) => (n >= min && n <= max ? Option.some(n) : Option.none()),
      `--${name} must be an integer from ${min.toLocaleString("en-US")} to ${max.toLocaleString("en-US")}`
    )
  )

const workload = Options.text("workload").pipe(
  Options.withDescription(`a workload file, or a built-in: ${Workload.builtinNames.join(", ")} (default: agent-session)`),
  Options.withDefault("agent-session")
)
const provider = Options.choice("provider", ["simulated", "anthropic", "openai", "bedrock", "bedrock-mantle", "vertex"]).pipe(
  Options.withDescription(
    "simulated (built in, no key, virtual time; Anthropic and OpenAI models), anthropic (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL), openai (OPENAI_API_KEY, OPENAI_BASE_URL), bedrock / bedrock-mantle (AWS_REGION and AWS credentials or AWS_BEARER_TOKEN_BEDROCK) or vertex (CLOUD_ML_REGION, ANTHROPIC_VERTEX_PROJECT_ID, Google credentials); docs/provider.md (default: simulated)"
  ),
  Options.withDefault("simulated" as const)
)
const model = Options.text("model").pipe(Options.withDescription("override the workload's model"), Options.optional)
const prices = Options.file("prices").pipe(
  Options.withDescription("a JSON price table that adds or overrides models"),
  Options.optional
)
const json = Options.boolean("json").pipe(Options.withDescription("one JSON document on stdout (docs/report.md)"))
const keepAlive = (description: string) => Options.boolean("keep-alive").pipe(Options.withDescription(description))
const timeScale = Options.float("time-scale").pipe(
  Options.filterMap((f) => (f > 0 && f <= 1_000 ? Option.some(f) : Option.none()), "--time-scale must be a number above 0, at most 1000"),
  Options.withDescription(
    "multiply the workload's idle gaps by F (F < 1 compresses them, for runs against a real server; TTL expiry and keep-alive behave differently at another scale) (default: 1)"
  ),
  Options.withDefault(1)
)
const promptCacheKey = Options.choice("prompt-cache-key", ["sharded", "single", "off"]).pipe(
  Options.withDescription(
    "OpenAI models: one prompt_cache_key per shared prefix, sharded above 15 requests a minute (sharded), never sharded (single), or none sent (off) (default: sharded)"
  ),
  Options.withDefault("sharded" as const)
)
const metricsPort = integerIn("metrics-port", 0, 65_535).pipe(
  Options.withDescription("serve Prometheus metrics on 127.0.0.1:PORT/metrics while running"),
  Options.optional
)

const run = Command.make(
  "run",
  {
    workload,
    provider,
    warming: Options.choice("warming", ["off", "always", "auto"]).pipe(
      Options.withDescription(
        "off: naive parallel requests; always: a warm call before every fan-out; auto: one establishing call per cold prefix, skipped when it cannot pay (default: auto)"
      ),
      Options.withDefault("auto" as const)
    ),
    pruning: Options.choice("pruning", ["on", "off", "eager", "server", "hindsight"]).pipe(
      Options.withDescription("on: prune stale context when the pruning pays for the cache it rewrites; off; eager: prune every target the turn it appears; server: no client pruning, the API's context editing (clear_tool_uses) instead; hindsight: the cheapest schedule of pruning rounds, found offline (the pruner's oracle) (default: on)"),
      Options.withDefault("on" as const)
    ),
    method: Options.choice("method", ["first-request", "warm-call"]).pipe(
      Options.withDescription("how --warming auto establishes a cold prefix (default: first-request)"),
      Options.optional
    ),
    keepAlive: keepAlive("refresh prefixes with steady traffic before their TTL ends (--warming auto only)"),
    model,
    prices,
    json,
    timeScale,
    promptCacheKey,
    metricsPort
  },
  (o) =>
    lazily(() => import("./RunCommand.js"), (m: typeof RunCommand) =>
      m.handle({
        ...o,
        pruning: o.pruning,
        method: Option.getOrUndefined(o.method)
      }))
).pipe(Command.withDescription("run one configuration on a workload and report what it cost"))

const benchOptions = {
  workload: Options.text("workload").pipe(
    Options.withDescription(`a workload file, a built-in (${Workload.builtinNames.join(", ")}), or all (default: agent-session)`),
    Options.withDefault("agent-session")
  ),
  provider,
  model,
  prices,
  json,
  timeScale,
  promptCacheKey,
  chart: Options.file("chart").pipe(Options.withDescription("write an SVG chart of cost per turn"), Options.optional),
  keepAlive: keepAlive("also run auto with keep-alive"),
  overhead: Options.boolean("overhead").pipe(Options.withDescription("measure the framework's overhead")),
  proxy: Options.boolean("proxy").pipe(Options.withDescription("measure the proxy: added latency, throughput, 1,000 concurrent streams")),
  pruner: Options.boolean("pruner").pipe(Options.withDescription("time the pruner on a 10,000-message conversation, and compare it with no pruning, eager pruning, the API's context editing and its hindsight oracle on the built-in and generated workloads")),
  replicas: integerIn("replicas", 1, 64).pipe(
    Options.withDescription("also split the workload over 1, 2, 4 … N replicas in simulation, a registry each vs one shared (and, with REDIS_URL, over N in real time vs one shared Redis)"),
    Options.optional
  ),
  registryLatencyMs: Options.float("registry-latency-ms").pipe(
    Options.filterMap((f) => (f >= 0 && f <= 10_000 ? Option.some(f) : Option.none()), "--registry-latency-ms must be a number from 0 to 10000"),
    Options.withDescription("the shared registry's round trip in the simulated replica study, ms (default: 1)"),
    Options.withDefault(1)
  ),
  scale: Options.boolean("scale").pipe(
    Options.withDescription("the scale study: multi-user-day at 1,000, 10,000 and 100,000 users (wall time, memory), and cost against arrival rate")
  ),
  curves: Options.file("curves").pipe(
    Options.withDescription("write an SVG of the scale study's curves: write amplification vs replicas, cost vs arrival rate"),
    Options.optional
  )
}

const bench = Command.make("bench", benchOptions, (o) => lazily(() => import("./BenchCommand.js"), (m: typeof BenchCommand) => m.handle(o))).pipe(
  Command.withDescription("run off, always and auto (pruning off and on) side by side")
)

/** `--port` and `--host` of a command that listens */
const listenOn = (defaultPort: number) => ({
  port: integerIn("port", 0, 65_535).pipe(
    Options.withDescription(`the port to listen on; 0 picks a free one (default: ${defaultPort})`),
    Options.withDefault(defaultPort)
  ),
  host: Options.text("host").pipe(
    Options.withDescription("the address to listen on (default: 127.0.0.1, this machine only)"),
    Options.withDefault("127.0.0.1")
  )
})

const serve = Command.make(
  "serve",
  {
    ...listenOn(8787),
    faults: Options.text("faults").pipe(
      Options.withDescription("e.g. overloaded=0.2,rate-limited=0.1,server-error=0.05,reset=0.03,timeout=0.02,seed=7"),
      Options.optional
    ),
    apiKey: Options.text("api-key").pipe(Options.withDescription("require this x-api-key"), Options.optional),
    maxBodyBytes: integerIn("max-body-bytes", 1, 1_073_741_824).pipe(
      Options.withDescription("answer 413 request_too_large to a larger request body (the API's limit: 32 MiB)"),
      Options.withDefault(32 * 1024 * 1024)
    ),
    metricsPort
  },
  (o) => lazily(() => import("./ServeCommand.js"), (m: typeof ServeCommand) => m.handle(o))
).pipe(Command.withDescription("serve the simulator as a local Anthropic-compatible API"))

const proxy = Command.make(
  "proxy",
  {
    ...listenOn(8788),
    anthropicUpstream: Options.text("anthropic-upstream").pipe(
      Options.withDescription("where Anthropic requests go (default: https://api.anthropic.com)"),
      Options.withDefault("https://api.anthropic.com")
    ),
    openaiUpstream: Options.text("openai-upstream").pipe(
      Options.withDescription("where OpenAI requests go (default: https://api.openai.com)"),
      Options.withDefault("https://api.openai.com")
    ),
    maxWaitMs: integerIn("max-wait-ms", 0, 600_000).pipe(
      Options.withDescription("how long a request waits for another to establish its prefix before it goes uncached (default: 60000)"),
      Options.withDefault(60_000)
    ),
    metricsPort,
    maxConcurrentPerTenant: integerIn("max-concurrent-per-tenant", 1, 100_000).pipe(
      Options.withDescription("the most upstream calls one tenant (one API key) has in flight at once; the others wait their turn (default: no cap)"),
      Options.optional
    ),
    graceMs: integerIn("grace-ms", 0, 600_000).pipe(
      Options.withDescription("on SIGTERM / Ctrl-C: accept nothing new, and give the calls in flight (streams included) this long to finish (default: 10000)"),
      Options.withDefault(10_000)
    ),
    logFormat: Options.choice("log-format", ["text", "json"]).pipe(
      Options.withDescription("the access log on stderr, one line per request (default: text)"),
      Options.withDefault("text" as const)
    ),
    streamLeaders: Options.boolean("stream-leaders").pipe(
      Options.withDescription(
        "a non-streaming Anthropic request that others wait for is sent streamed (its body gains \"stream\": true) and its answer assembled for its client, so the others go at its first byte (default: off: bodies go upstream as sent)"
      )
    ),
    prices
  },
  (o) => lazily(() => import("./ProxyCommand.js"), (m: typeof ProxyCommand) => m.handle(o))
).pipe(Command.withDescription("a caching proxy: point ANTHROPIC_BASE_URL / OPENAI_BASE_URL at it; each cold prefix is written once (REDIS_URL + PROXY_TENANT_SECRET for replicas)"))

const soak = Command.make(
  "soak",
  {
    requests: integerIn("requests", 1, 1_000_000).pipe(
      Options.withDescription("about how many requests per transport (sessions × turns × 5) (default: 10000)"),
      Options.withDefault(10_000)
    ),
    transport: Options.choice("transport", ["in-process", "http", "both"]).pipe(
      Options.withDescription("the simulator in this process, the real SDK over HTTP to a local server, or both (default: both)"),
      Options.withDefault("both" as const)
    )
  },
  (o) => lazily(() => import("./SoakCommand.js"), (m: typeof SoakCommand) => m.handle(o))
).pipe(Command.withDescription("the reliability soak: 200 sessions with fan-out under injected faults; checks nothing is lost"))

const demo = Command.make("demo", {}, () => VirtualTime.run(Demo.demo).pipe(Effect.provide(SimulatedProvider.layer())))
  .pipe(Command.withDescription("the problem and the fix in ten lines: parallel writes, then one warm call"))

/**
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("effect-prompt-cache", {}, () =>
  lazily(() => import("./BenchCommand.js"), (m: typeof BenchCommand) => m.handle({
    workload: "agent-session",
    provider: "simulated",
    model: Option.none(),
    prices: Option.none(),
    json: false,
    timeScale: 1,
    chart: Option.none(),
    keepAlive: false,
    overhead: false,
    pruner: false
  }))).pipe(
    Command.withDescription("prompt caching that pays: benchmark warming and pruning strategies"),
    Command.withSubcommands([run, bench, serve, proxy, soak, demo])
  )

/**
 * @since 0.1.0
 * @category commands
 */
export const cli = Command.run(command, { name: "effect-prompt-cache", version: "0.1.0" })
