/**
 * JSON from outside, checked before a recursive parser or decoder sees it.
 */

/**
 * The deepest bracket nesting of a JSON text, outside strings: found in one pass, without recursion,
 * so a hostile 100,000-deep document is measured, not parsed.
 *
 * @internal
 */
export const nestingDepth = (text: string): number => {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      depth++
      if (depth > deepest) deepest = depth
    } else if (c === 125 || c === 93) depth--
  }
  return deepest
}
