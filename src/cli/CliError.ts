/**
 * The program's own errors: bad arguments or files, and requests that failed after their retries.
 * `bin.ts` prints each as one line.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Bad arguments or files given to the program.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Schema.TaggedError<UsageError>("effect-prompt-cache/UsageError")("UsageError", {
  detail: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.detail
  }
}

/**
 * Some requests failed after their retries.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestsFailed extends Schema.TaggedError<RequestsFailed>("effect-prompt-cache/RequestsFailed")(
  "RequestsFailed",
  {
    failed: Schema.Number,
    byError: Schema.Record({ key: Schema.String, value: Schema.Number }),
    first: Schema.NullOr(Schema.String)
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const by = Object.entries(this.byError).map(([k, v]) => `${k} ${v}`).join(", ")
    return `${this.failed} request(s) failed after their retries${by === "" ? "" : ` (${by})`}` +
      (this.first === null ? "" : `; first: ${this.first}`)
  }
}

/**
 * Why a server could not listen, in words (the platform's error carries node's code).
 *
 * @since 0.1.0
 * @category errors
 */
export const listenFailure = (cause: unknown): string => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String((cause as { code: unknown }).code) : ""
  return code === "EADDRINUSE"
    ? "the address is already in use (another server is listening there; choose another --port)"
    : code === "EACCES"
    ? "permission denied (ports below 1024 need privileges)"
    : code === "EADDRNOTAVAIL"
    ? "no such address on this machine (--host)"
    : cause instanceof Error
    ? cause.message
    : String(cause)
}
