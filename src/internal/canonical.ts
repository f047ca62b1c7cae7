import { ObjectMemo } from "./objectMemo.js"

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

/**
 * A string function of values, memoized per object (objects are treated as immutable values);
 * primitives are computed each time.
 */
export const memoizedPerObject = (f: (value: unknown) => string): (value: unknown) => string => {
  const memo = new ObjectMemo<string>("canonical")
  return (value) => {
    if (typeof value !== "object" || value === null) return f(value)
    let s = memo.get(value)
    if (s === undefined) {
      s = f(value)
      memo.set(value, s)
    }
    return s
  }
}

/** canonicalJson, memoized per object */
export const canonicalJsonOf = memoizedPerObject(canonicalJson)
