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
  private readonly blocks = new Map<string, { tokens: number; uses: number; cacheable: boolean; ttl: "5m" | "1h" }>()
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
      const ttl = bps[b]?.ttl ?? "5m"
      const entry = this.blocks.get(p.fingerprint)
      if (entry === undefined) {
        this.blocks.set(p.fingerprint, {
          tokens: p.tokens,
          uses: 1,
          cacheable,
          ttl
        })
      } else {
        entry.uses++
        entry.cacheable ||= cacheable
      }
    }
    this.outputTokens += outputTokens
  }

  costUsd(): number {
    const m = Pricing.multipliersOf(this.price)
    let units = 0
    for (const e of this.blocks.values()) {
      if (e.uses >= 2 && e.cacheable) {
        units += e.tokens * (Pricing.writeMultiplier(m, e.ttl) + (e.uses - 1) * m.read)
      } else {
        units += e.tokens * e.uses * Pricing.Multipliers.input
      }
    }
    return Pricing.microsToUsd(units * this.price.input + this.outputTokens * this.price.output)
  }
}
