/**
 * A request body read up to `limit` bytes, from any Node-style readable (an `IncomingMessage`). Past
 * the limit the rest is drained unread — memory stays bounded and the connection stays usable for the
 * answer — and the read fails with `too_large`. The simulator's server and the proxy both read bodies
 * so.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/** what this needs of a Node readable */
export interface Readable {
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown
  off(event: "data", listener: (chunk: Uint8Array) => void): unknown
  once(event: "end" | "error" | "close", listener: () => void): unknown
  resume(): unknown
}

/** @internal */
export const readBounded = (incoming: Readable, limit: number) =>
  Effect.async<Uint8Array, "too_large" | "aborted">((resume) => {
    const chunks: Array<Uint8Array> = []
    let bytes = 0
    let done = false
    const finish = (result: Effect.Effect<Uint8Array, "too_large" | "aborted">) => {
      if (done) return
      done = true
      resume(result)
    }
    const onData = (chunk: Uint8Array) => {
      bytes += chunk.length
      if (bytes > limit) {
        chunks.length = 0
        incoming.off("data", onData)
        incoming.resume() // drain the rest, unread
        finish(Effect.fail("too_large"))
      } else chunks.push(chunk)
    }
    incoming.on("data", onData)
    incoming.once("end", () => {
      const all = new Uint8Array(bytes)
      let at = 0
      for (const c of chunks) {
        all.set(c, at)
        at += c.length
      }
      finish(Effect.succeed(all))
    })
    incoming.once("error", () => finish(Effect.fail("aborted")))
    incoming.once("close", () => finish(bytes > limit ? Effect.fail("too_large") : Effect.fail("aborted")))
    return Effect.sync(() => void incoming.off("data", onData))
  })
