/**
 * The house rules, checked on the import graph of `src/` (read with the TypeScript compiler's own
 * pre-processor, type-only and dynamic imports included):
 * - the core (`src/*.ts`, `src/internal/`) imports nothing from a wing, and no package but `effect`;
 * - a provider or driver wing imports the core and itself only — but the simulator and the proxy,
 *   which read OpenAI's wire through the OpenAI wing;
 * - the `@effect/ai` wing imports the core, itself and, of packages, `effect` and `@effect/ai` only
 *   (never a provider layer: it decorates whichever the app uses);
 * - no import cycle anywhere;
 * - the core's index exports the library only.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, normalize, relative } from "node:path"
import ts from "typescript"

const SRC = join(import.meta.dirname, "..", "src")

const files = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  )

/** module (path relative to src, without .ts) → its imports: relative ones resolved, bare ones as written */
const graph = new Map(files(SRC).map((file) => {
  const module = relative(SRC, file).replace(/\.ts$/, "")
  const imports = ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map((i) => i.fileName)
  return [module, {
    local: imports.filter((s) => s.startsWith(".")).map((s) => normalize(join(dirname(module), s)).replace(/\.js$/, "")),
    packages: imports.filter((s) => !s.startsWith("."))
  }] as const
}))

const wingOf = (module: string): string => module.includes("/") && !module.startsWith("internal/") ? module.split("/")[0]! : "core"

describe("layout", () => {
  it("every local import resolves to a module of src/", () => {
    for (const [module, { local }] of graph) {
      for (const target of local) expect(graph.has(target), `${module} → ${target}`).toBe(true)
    }
  })

  it("the core imports no wing and no package but effect (and node:crypto, node:path)", () => {
    const core = [...graph].filter(([m]) => wingOf(m) === "core")
    expect(core.length).toBeGreaterThan(15)
    for (const [module, { local, packages }] of core) {
      for (const target of local) expect(wingOf(target), `${module} → ${target}`).toBe("core")
      for (const p of packages) expect(p === "node:crypto" || p === "node:path" || p === "effect" || p.startsWith("effect/"), `${module} → ${p}`).toBe(true)
    }
  })

  it("a provider or driver wing imports the core and itself only (the simulator: and the OpenAI wing)", () => {
    for (const [module, { local }] of graph) {
      const wing = wingOf(module)
      if (!["anthropic", "effect-ai", "openai", "otel", "simulator", "redis", "proxy"].includes(wing)) continue
      // the simulator and the proxy read OpenAI's wire through the OpenAI wing's translations
      const allowed = wing === "simulator" || wing === "proxy" ? ["core", wing, "openai"] : ["core", wing]
      for (const target of local) expect(allowed, `${module} → ${target}`).toContain(wingOf(target))
    }
  })

  it("the @effect/ai wing imports, of packages, effect and @effect/ai only (and node:crypto)", () => {
    const wing = [...graph].filter(([m]) => wingOf(m) === "effect-ai")
    expect(wing.length).toBeGreaterThan(1)
    for (const [module, { packages }] of wing) {
      for (const p of packages) {
        expect(p === "node:crypto" || p === "effect" || p.startsWith("effect/") || p.startsWith("@effect/ai/"), `${module} → ${p}`).toBe(true)
      }
    }
  })

  it("no import cycle", () => {
    const state = new Map<string, "visiting" | "done">()
    const cycles: Array<string> = []
    const visit = (module: string, path: ReadonlyArray<string>) => {
      if (state.get(module) === "done") return
      if (state.get(module) === "visiting") {
        cycles.push([...path.slice(path.indexOf(module)), module].join(" → "))
        return
      }
      state.set(module, "visiting")
      for (const target of graph.get(module)?.local ?? []) visit(target, [...path, module])
      state.set(module, "done")
    }
    for (const module of graph.keys()) visit(module, [])
    expect(cycles).toEqual([])
  })

  it("the package's entry points are the core and the six library wings; the CLI and bench are not exported", () => {
    const pkg = JSON.parse(readFileSync(join(SRC, "..", "package.json"), "utf8")) as { exports: Record<string, unknown> }
    expect(Object.keys(pkg.exports).sort()).toEqual([".", "./anthropic", "./effect-ai", "./openai", "./otel", "./package.json", "./redis", "./simulator"])
    const index = graph.get("index")!
    for (const target of index.local) expect(wingOf(target), `index → ${target}`).toBe("core")
    for (const wing of ["anthropic", "effect-ai", "openai", "otel", "simulator", "redis"]) {
      for (const target of graph.get(`${wing}/index`)!.local) expect(wingOf(target)).toBe(wing)
    }
  })
})
