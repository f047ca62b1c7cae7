/**
 * Session arrivals over simulated time: a Poisson process at a workload's `arrivals.perSecond`,
 * optionally shaped over the day by 24 hourly weights — the start time of every session, drawn from a
 * seeded generator so that a run is the same run every time.
 *
 * @since 0.4.0
 */
import { prng } from "../internal/prng.js"
import type { Arrivals } from "./WorkloadSchema.js"

const HOUR_S = 3_600

/**
 * The arrival rate (per second) in each hour of the day: `perSecond` × the hour's weight over the
 * weights' mean, so `perSecond` stays the day's mean rate.
 *
 * @since 0.4.0
 * @category arrivals
 */
export const hourlyRates = (arrivals: Arrivals): ReadonlyArray<number> => {
  const weights = arrivals.daily ?? Array.from({ length: 24 }, () => 1)
  const mean = weights.reduce((a, b) => a + b, 0) / weights.length
  return weights.map((w) => (arrivals.perSecond * w) / mean)
}

/**
 * The start of each of `count` sessions, in milliseconds from the start of the run, in order: the
 * gaps of a Poisson process whose rate is constant within each hour of the day (an exponential draw
 * spent across hours at their own rates, so quiet hours stretch the gaps and busy ones shrink them).
 *
 * @since 0.4.0
 * @category arrivals
 */
export const times = (arrivals: Arrivals, count: number): Float64Array => {
  const random = prng(arrivals.seed ?? 1)
  const rates = hourlyRates(arrivals)
  const out = new Float64Array(count)
  let t = 0
  for (let i = 0; i < count; i++) {
    // 1 − u is in (0, 1]: the draw is finite
    let need = -Math.log(1 - random())
    for (;;) {
      const hour = Math.floor(t / HOUR_S)
      const rate = rates[hour % rates.length]!
      const end = (hour + 1) * HOUR_S
      const available = rate * (end - t)
      if (rate > 0 && need <= available) {
        t += need / rate
        break
      }
      need -= available
      t = end
    }
    out[i] = t * 1_000
  }
  return out
}
