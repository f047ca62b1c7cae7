/**
 * The package as a user gets it: `npm pack`, installed into a fresh project (the tarball and its
 * declared dependencies only; `effect` and `@effect/*` come in as peers), a consumer type-checked
 * against the installed `.d.ts` and run, and the installed binary run. `dist/` was built by the
 * suite's global setup, so the pack itself skips `prepare`.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const ROOT = join(import.meta.dirname, "..", "..")
/** runs a command; on failure the error carries what it printed */
const run = (cmd: string, args: ReadonlyArray<string>, cwd: string): string => {
  try {
    return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, REDIS_URL: "" } })
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string }
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${stdout ?? ""}\n${stderr ?? ""}`)
  }
}

describe("the packed package", () => {
  it("installs into a fresh project, type-checks and runs there, and its binary runs", () => {
    const dir = mkdtempSync(join(tmpdir(), "epc-pack-"))
    const packed = JSON.parse(run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT)) as Array<{
      filename: string
      files: Array<{ path: string }>
    }>
    const paths = packed[0]!.files.map((f) => f.path)
    for (const entry of ["dist/index.js", "dist/index.d.ts", "dist/anthropic/index.js", "dist/openai/index.js", "dist/simulator/index.d.ts", "dist/redis/index.js", "dist/cli/bin.js", "package.json", "README.md"]) {
      expect(paths).toContain(entry)
    }
    expect(paths.filter((p) => p.startsWith("src/") || p.startsWith("test/") || p.endsWith(".map") || p.endsWith(".tsbuildinfo"))).toEqual([])

    const app = join(dir, "app")
    execFileSync("mkdir", ["-p", app])
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
    run("npm", ["install", join(dir, packed[0]!.filename), "--prefer-offline", "--no-audit", "--no-fund"], app)
    const installed = JSON.parse(readFileSync(join(app, "node_modules", "effect", "package.json"), "utf8")) as { version: string }
    expect(installed.version).toMatch(/^3\./)
    // the optional peer is not installed: the program must start and run without it
    expect(existsSync(join(app, "node_modules", "ioredis"))).toBe(false)

    copyFileSync(join(import.meta.dirname, "consumer.ts"), join(app, "consumer.ts"))
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true, types: [], lib: ["ES2022", "DOM"], outDir: "out" },
      files: ["consumer.ts"]
    }))
    run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], app)
    const result = JSON.parse(run(process.execPath, [join(app, "out", "consumer.js")], app)) as {
      ok: number
      requests: number
      hits: number
      closed: Record<string, string>
    }
    expect(result).toMatchObject({ ok: 3, requests: 3, hits: 2 })
    for (const code of Object.values(result.closed)) expect(code).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")

    const bench = JSON.parse(run("npx", ["--no-install", "effect-prompt-cache", "bench", "--json"], app)) as {
      workload: string
      results: Array<{ warming: string; totalCostUsd: number }>
    }
    expect(bench.workload).toBe("agent-session")
    expect(bench.results.map((r) => r.warming)).toEqual(["off", "always", "auto", "off", "always", "auto"])
  }, 300_000)
})
