import * as ParseResult from "effect/ParseResult"

/** A schema failure as short `path: message` lines, joined by "; ". */
export const formatParseError = (error: ParseResult.ParseError, root = ""): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].filter((p) => p !== "").join(".")
      return `${path === "" ? "(root)" : path}: ${issue.message}`
    })
    .slice(0, 5)
    .join("; ")
