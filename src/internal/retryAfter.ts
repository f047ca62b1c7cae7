/**
 * The wait a response asks for, from its `retry-after-ms` (milliseconds) or `retry-after` (seconds,
 * or an HTTP date) header; `undefined` when it names none. Both providers' clients read it.
 *
 * @internal
 */
export const parseRetryAfter = (headers: Headers | undefined, now: number = Date.now()): number | undefined => {
  if (headers === undefined) return undefined
  const ms = headers.get("retry-after-ms")
  if (ms !== null && Number.isFinite(Number(ms))) return Number(ms)
  const s = headers.get("retry-after")
  if (s === null) return undefined
  if (Number.isFinite(Number(s))) return Number(s) * 1000
  const date = Date.parse(s)
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined
}
