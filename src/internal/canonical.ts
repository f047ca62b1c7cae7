/**
 * Canonical JSON: object keys sorted, `undefined`/`null` members and `cache_control` dropped, at every
 * depth. Equal prompts give equal strings whatever their key order or breakpoints.
 */
export const canonicalJson = (value: unknown): string => {
  const out: Array<string> = []
  write(value, out)
  return out.join("")
}

const write = (value: unknown, out: Array<string>): void => {
  if (value === null || value === undefined) {
    out.push("null")
  } else if (Array.isArray(value)) {
    out.push("[")
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",")
      write(value[i], out)
    }
    out.push("]")
  } else if (typeof value === "object") {
    const keys = Object.keys(value).filter((k) => {
      const v = (value as Record<string, unknown>)[k]
      return k !== "cache_control" && v !== undefined && v !== null
    }).sort()
    out.push("{")
    keys.forEach((k, i) => {
      if (i > 0) out.push(",")
      out.push(JSON.stringify(k), ":")
      write((value as Record<string, unknown>)[k], out)
    })
    out.push("}")
  } else if (typeof value === "number" && !Number.isFinite(value)) {
    out.push("null")
  } else {
    out.push(JSON.stringify(value))
  }
}

const memo = new WeakMap<object, string>()

/** canonicalJson, memoized per object (objects are treated as immutable values) */
export const canonicalJsonOf = (value: unknown): string => {
  if (typeof value !== "object" || value === null) return canonicalJson(value)
  let s = memo.get(value)
  if (s === undefined) {
    s = canonicalJson(value)
    memo.set(value, s)
  }
  return s
}
