/**
 * The program run as a user runs it: a separate node process on the sources (through tsx), its output
 * captured. `signalWhen` sends SIGINT once a readiness check holds (polled), never after a fixed delay.
 * The process is killed if the test is interrupted.
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { spawn } from "node:child_process"

export interface ProgramResult {
  readonly code: number | null
  readonly signal: string | null
  readonly stdout: string
  readonly stderr: string
}

export const program = <R = never>(
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  signalWhen?: Effect.Effect<boolean, never, R>
): Effect.Effect<ProgramResult, never, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", ...args], {
        env: { ...process.env, ANTHROPIC_API_KEY: "", ANTHROPIC_BASE_URL: "", OPENAI_API_KEY: "", OPENAI_BASE_URL: "", REDIS_URL: "",
          AWS_REGION: "", AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_BEARER_TOKEN_BEDROCK: "", AWS_EC2_METADATA_DISABLED: "true",
          CLOUD_ML_REGION: "", ANTHROPIC_VERTEX_PROJECT_ID: "", GOOGLE_OAUTH_ACCESS_TOKEN: "", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      const output = { stdout: "", stderr: "" }
      child.stdout.on("data", (d) => (output.stdout += d))
      child.stderr.on("data", (d) => (output.stderr += d))
      const closed = new Promise<ProgramResult>((resolve) =>
        child.on("close", (code, signal) => resolve({ code, signal, ...output }))
      )
      return { child, closed }
    }),
    ({ child, closed }) =>
      Effect.gen(function*() {
        if (signalWhen !== undefined) {
          yield* Effect.repeat(signalWhen, {
            until: (ready) => ready || child.exitCode !== null,
            schedule: Schedule.spaced("20 millis")
          })
          child.kill("SIGINT")
        }
        return yield* Effect.promise(() => closed)
      }),
    ({ child }) => Effect.sync(() => void child.kill("SIGKILL"))
  )
