/**
 * Scripted answers of the simulator's HTTP server, for tests that need exact sequences of failures.
 *
 * @since 0.1.0
 */

/**
 * One scripted answer, consumed in order by the next requests before the simulator answers again.
 *
 * @since 0.1.0
 * @category models
 */
export type ScriptStep =
  | {
    readonly _tag: "Error"
    readonly status: number
    readonly type: string
    readonly message?: string | undefined
    /** sent as `retry-after` (seconds), and only that header unless `retryAfterMs` is set too */
    readonly retryAfterSeconds?: number | undefined
    /** sent as `retry-after-ms`, and only that header unless `retryAfterSeconds` is set too */
    readonly retryAfterMs?: number | undefined
  }
  /** a 200 SSE response that sends `message_start`, then an `error` event */
  | { readonly _tag: "StreamError"; readonly type: string; readonly message?: string | undefined }
  /** the connection is destroyed: before any byte (JSON) or after `message_start` (SSE) */
  | { readonly _tag: "Reset" }
  /** a 200 SSE response that sends `message_start`, then nothing, keeping the connection open */
  | { readonly _tag: "Stall" }
  /** wait, then answer from the simulator */
  | { readonly _tag: "Delay"; readonly ms: number }
  /** answer from the simulator */
  | { readonly _tag: "Pass" }

