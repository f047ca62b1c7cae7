/**
 * Text the program prints about things it did not write itself (error messages, file names, server
 * answers): one line, no terminal control characters, no secrets.
 *
 * @since 0.1.0
 */
import { printable as controlFree, redact } from "../internal/text.js"

/** the secrets this process holds in its environment: never printed */
const secretsOfEnvironment = (): ReadonlyArray<string> =>
  ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY", "REDIS_URL"]
    .map((name) => process.env[name] ?? "")
    .filter((value) => value.length >= 8)

/**
 * `text` safe to echo to a terminal: control characters (escape sequences included) shown as `?`,
 * line breaks as `\n`, secrets removed.
 *
 * @since 0.1.0
 * @category output
 */
export const printable = (text: string): string => controlFree(redact(text, secretsOfEnvironment()))

/**
 * The first line of a message, made {@link printable}.
 *
 * @since 0.1.0
 * @category output
 */
export const oneLine = (message: string): string => printable(message.split("\n")[0] ?? "")
