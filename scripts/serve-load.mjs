// serve under load: RSS after N requests of ~20 kB (256 concurrent clients, loopback only), then the
// time from SIGTERM to exit. Usage: npm run build && node scripts/serve-load.mjs [N=10000]
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
const child = spawn(process.execPath, ["dist/cli/bin.js", "serve", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] })
const url = await new Promise((resolve) => { let out = ""; child.stdout.on("data", (d) => { out += d; const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out); if (m) resolve(m[1]) }) })
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))[1]) / 1024
const body = (i) => JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: 1, system: "x".repeat(20_000), messages: [{ role: "user", content: `q${i}` }] })
const send = (i) => fetch(`${url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01" }, body: body(i) }).then((r) => r.text())
console.log(`serve RSS at start ${rss().toFixed(0)} MB`)
const N = Number(process.argv[2] ?? 10000)
let next = 0
const worker = async () => { while (next < N) await send(next++) }
const t0 = performance.now()
await Promise.all(Array.from({ length: 256 }, worker))
console.log(`${N} requests of ~20 kB in ${((performance.now() - t0) / 1000).toFixed(1)} s; serve RSS ${rss().toFixed(0)} MB`)
await Promise.all(Array.from({ length: 256 }, async () => { for (let i = 0; i < N / 256 / 4; i++) await send(next++) }))
console.log(`after ${next} requests: serve RSS ${rss().toFixed(0)} MB`)
const t1 = performance.now()
child.kill("SIGTERM")
const code = await new Promise((resolve) => child.on("exit", (c, s) => resolve(c ?? s)))
console.log(`SIGTERM → exit ${code} in ${(performance.now() - t1).toFixed(0)} ms`)
