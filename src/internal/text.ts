/**
 * Text from outside made fit to print: secrets out of anything that reaches output or logs (a second
 * line of defence: an API key is never put into a message on purpose, but a server or proxy may echo
 * request headers in its error body), and control characters out of anything echoed to a terminal.
 */

const HEADER = /((?:x-api-key|authorization|api-key|x-goog-api-key|proxy-authorization)["']?\s*[:=]\s*["']?)(?:(Bearer|Basic)\s+)?[^\s"',;}\]]+/gi
const KEY_SHAPES = /\b(sk-(?:ant|proj|svcacct)?-?[A-Za-z0-9_-]{16,})/g

/** @internal */
export const REDACTED = "[redacted]"

/**
 * `text` with every given secret, every value of a credential header (`x-api-key`, `authorization`,
 * …, as `name: value`, `"name":"value"` or `name=value`) and everything shaped like a provider key
 * replaced by `[redacted]`.
 *
 * @internal
 */
export const redact = (text: string, secrets: ReadonlyArray<string> = []): string => {
  let out = text
  for (const secret of secrets) {
    if (secret.length >= 8) out = out.split(secret).join(REDACTED)
  }
  return out
    .replace(HEADER, (_m, name: string, scheme: string | undefined) => `${name}${scheme === undefined ? "" : `${scheme} `}${REDACTED}`)
    .replace(KEY_SHAPES, REDACTED)
}

// C0 and C1 control characters (escape sequences included) but tab, and DEL
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

/**
 * `text` safe to echo on one terminal line: line breaks shown as `\n`, other control characters
 * (escape sequences included) as `?`.
 *
 * @internal
 */
export const printable = (text: string): string => text.replace(/\r?\n/g, "\\n").replace(CONTROL, "?")
