/**
 * The benchmark's lower bound: what a workload would cost with perfect caching.
 *
 * @since 0.1.0
 */
import { breakpoints, positions } from "../Prefix.js"
import * as Pricing from "../Pricing.js"
import type { MessagesRequest } from "../Prompt.js"

/**
 * The oracle lower bound: every reused prompt block written once at its TTL's write price and read at
 * the read price every other time; every block never reused (or below the model's minimum cacheable
 * prefix) sent as plain input; output as measured.
 *
 * @since 0.1.0
 * @category models
 */
export class Oracle {
  // one row per distinct block, in columns: a long run (100,000 sessions) sees millions of blocks,
  // and a row of plain objects keyed by 64-character strings would cost ~200 bytes each
  private readonly rows = new Map<number, number>()
  private tokens = new Float64Array(1024)
  private uses = new Uint32Array(1024)
  /** bit 0: cacheable; bit 1: its TTL is 1h */
  private flags = new Uint8Array(1024)
  private size = 0
  private outputTokens = 0

  constructor(readonly price: Pricing.ModelPrice) {}

  add(request: MessagesRequest, outputTokens: number): void {
    const all = positions(request)
    const bps = breakpoints(request, all)
    // a block can be cached inside any longer prefix of the request: only a request whose whole
    // prompt is below the model's minimum cannot cache it (optimistic, as a lower bound must be)
    const cacheable = (all[all.length - 1]?.cumulativeTokens ?? 0) >= this.price.minCacheableTokens
    let b = 0
    for (const p of all) {
      while (b < bps.length && bps[b]!.position.index < p.index) b++
      // 52 bits of the fingerprint (a hash): a collision among millions of blocks is ~1e-4 likely,
      // and would only merge two blocks' counts
      const key = Number.parseInt(p.fingerprint.slice(0, 13), 16)
      const row = this.rows.get(key)
      if (row === undefined) {
        this.grow()
        const r = this.size++
        this.rows.set(key, r)
        this.tokens[r] = p.tokens
        this.uses[r] = 1
        this.flags[r] = (cacheable ? 1 : 0) | ((bps[b]?.ttl ?? "5m") === "1h" ? 2 : 0)
      } else {
        this.uses[row]!++
        if (cacheable) this.flags[row]! |= 1
      }
    }
    this.outputTokens += outputTokens
  }

  costUsd(): number {
    const m = Pricing.multipliersOf(this.price)
    let units = 0
    for (let r = 0; r < this.size; r++) {
      const tokens = this.tokens[r]!
      const uses = this.uses[r]!
      const flags = this.flags[r]!
      if (uses >= 2 && (flags & 1) === 1) {
        units += tokens * (Pricing.writeMultiplier(m, (flags & 2) === 2 ? "1h" : "5m") + (uses - 1) * m.read)
      } else {
        units += tokens * uses * Pricing.Multipliers.input
      }
    }
    return Pricing.microsToUsd(units * this.price.input + this.outputTokens * this.price.output)
  }

  private grow(): void {
    if (this.size < this.tokens.length) return
    const n = this.tokens.length * 2
    const tokens = new Float64Array(n)
    tokens.set(this.tokens)
    const uses = new Uint32Array(n)
    uses.set(this.uses)
    const flags = new Uint8Array(n)
    flags.set(this.flags)
    this.tokens = tokens
    this.uses = uses
    this.flags = flags
  }
}
