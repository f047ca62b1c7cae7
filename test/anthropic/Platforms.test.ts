/**
 * Claude on Bedrock (invoke API and Mantle) and Vertex AI, through Anthropic's official platform
 * clients configured from the standard environment variables only, against `serve`: JSON and
 * streaming (Bedrock's AWS event-stream framing included), the warmer's single flight, each
 * platform's errors typed and retried as they should be, credentials missing named, and two regions
 * never sharing warmth.
 */
import { describe, expect, layer } from "@effect/vitest"
import { randomUUID } from "node:crypto"
import APIError from "@anthropic-ai/sdk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as AnthropicClient from "../../src/anthropic/AnthropicClient.js"
import * as Bedrock from "../../src/anthropic/Bedrock.js"
import * as Vertex from "../../src/anthropic/Vertex.js"
import * as CacheMetrics from "../../src/CacheMetrics.js"
import * as CacheWarmer from "../../src/CacheWarmer.js"
import { LanguageModel, streamToResponse } from "../../src/LanguageModel.js"
import * as Pricing from "../../src/Pricing.js"
import type { MessagesRequest } from "../../src/Prompt.js"
import { isRetryable } from "../../src/ProviderError.js"
import * as RetryPolicy from "../../src/RetryPolicy.js"
import * as SimulatedProvider from "../../src/simulator/SimulatedProvider.js"
import * as SimulatorServer from "../../src/simulator/SimulatorServer.js"
import { TokenCounter } from "../../src/TokenCounter.js"
import * as RedisRegistry from "../../src/redis/RedisRegistry.js"
import * as WarmRegistry from "../../src/WarmRegistry.js"
import { textOfTokens } from "../fixtures.js"

// the AWS credential chain must not wait for an instance metadata service this machine has not got
process.env.AWS_EC2_METADATA_DISABLED = "true"

const SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
const TOKEN = "ya29.a0-test-access-token-0123456789"

type Platform = "bedrock" | "bedrock-mantle" | "vertex"

const MODELS: Record<Platform, string> = {
  "bedrock": "us.anthropic.claude-sonnet-4-6-v1:0",
  "bedrock-mantle": "anthropic.claude-sonnet-4-6",
  "vertex": "claude-sonnet-4-6@20250929"
}

/** the standard environment variables of each platform, pointed at the server */
const envOf = (platform: Platform, url: string, region: string, extra: Record<string, string | undefined> = {}) =>
  new Map(Object.entries({
    ...(platform === "vertex"
      ? { CLOUD_ML_REGION: region, ANTHROPIC_VERTEX_PROJECT_ID: "acme-prod", ANTHROPIC_VERTEX_BASE_URL: `${url}/v1`, GOOGLE_OAUTH_ACCESS_TOKEN: TOKEN }
      : {
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY: SECRET,
        ANTHROPIC_BEDROCK_BASE_URL: url,
        ANTHROPIC_BEDROCK_MANTLE_BASE_URL: `${url}/anthropic`
      }),
    ...extra
  }).filter((e): e is [string, string] => e[1] !== undefined))

const platformLayer = (platform: Platform) =>
  platform === "vertex" ? Vertex.layerVertexConfig() : platform === "bedrock" ? Bedrock.layerBedrockConfig() : Bedrock.layerBedrockMantleConfig()

/** the platform's layer configured from `env` only */
const configured = (platform: Platform, env: Map<string, string>) =>
  platformLayer(platform).pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(env))))

const Server = SimulatorServer.layer().pipe(Layer.provideMerge(SimulatedProvider.layer({ latency: { ...SimulatedProvider.zeroLatency, baseMs: 100 } })))

const request = (platform: Platform, question: string): MessagesRequest => ({
  model: MODELS[platform],
  max_tokens: 40,
  system: [{ type: "text", text: textOfTokens(3000), cache_control: { type: "ephemeral" } }],
  messages: [{ role: "user", content: question }]
})

/** a cold fan-out of three through the warmer, on the platform's layer */
const fanOut = (platform: Platform) =>
  Effect.gen(function*() {
    const warmer = yield* CacheWarmer.CacheWarmer
    const result = yield* warmer.fanOut({ shared: request(platform, "shared"), requests: ["a", "b", "c"].map((q) => request(platform, q)) })
    const usages = result.responses.map((r) => (r._tag === "Right" ? r.right.usage : undefined))
    return {
      writes: usages.filter((u) => u !== undefined && u.cacheRead === 0 && u.cacheCreation5m > 0).length,
      reads: usages.filter((u) => u !== undefined && u.cacheRead > 0).length
    }
  })

const warmerOver = (platform: Platform, env: Map<string, string>) =>
  CacheWarmer.layer({ policy: "auto" }).pipe(
    Layer.provideMerge(CacheMetrics.layer),
    Layer.provideMerge(configured(platform, env)),
    Layer.provideMerge(Pricing.layerDefault)
  )

describe("Claude on the cloud platforms, through the official clients, against serve", () => {
  for (const platform of ["bedrock", "bedrock-mantle", "vertex"] as const) {
    layer(Server, { excludeTestServices: true })(platform, (it) => {
      it.effect("JSON and streaming, configured from the environment; the paths and credentials the platform expects", () =>
        Effect.gen(function*() {
          const server = yield* SimulatorServer.SimulatorServer
          const env = envOf(platform, server.url, platform === "vertex" ? "us-east5" : "us-east-1")
          const usage = yield* Effect.gen(function*() {
            const lm = yield* LanguageModel
            expect(lm.provider).toBe(platform)
            const a = yield* lm.create(request(platform, "json"))
            const b = yield* streamToResponse(lm.stream(request(platform, "stream")), () => Effect.void)
            const counted = yield* Effect.flatMap(TokenCounter, (t) => t.countRequest(request(platform, "count")))
            expect(counted).toBeGreaterThanOrEqual(3000)
            return [a.usage, b.usage]
          }).pipe(Effect.provide(configured(platform, env)))
          expect(usage[0]!.cacheCreation5m).toBeGreaterThanOrEqual(3000)
          expect(usage[1]!.cacheRead).toBe(usage[0]!.cacheCreation5m)
          expect(usage[1]!.output).toBe(40)
          // this block's server has seen this test's requests only
          const all = yield* server.received
          const received = all.slice(0, 2)
          const paths = all.map((r) => r.path)
          if (platform === "bedrock") {
            // Bedrock's invoke API serves no count_tokens: the count was the local estimate
            expect(paths).toEqual([`/model/${MODELS.bedrock}/invoke`, `/model/${MODELS.bedrock}/invoke-with-response-stream`])
          } else if (platform === "bedrock-mantle") {
            expect(paths).toEqual(["/anthropic/v1/messages", "/anthropic/v1/messages", "/anthropic/v1/messages/count_tokens"])
          } else {
            const base = "/v1/projects/acme-prod/locations/us-east5/publishers/anthropic/models"
            expect(paths).toEqual([`${base}/${MODELS.vertex}:rawPredict`, `${base}/${MODELS.vertex}:streamRawPredict`, `${base}/count-tokens:rawPredict`])
          }
          for (const r of received) {
            const body = r.body as Record<string, unknown>
            if (platform !== "bedrock-mantle") {
              expect(typeof body.anthropic_version).toBe("string")
              expect(body.model).toBeUndefined()
            }
          }
          expect(JSON.stringify(yield* server.received)).not.toContain(SECRET)
        }))

      it.effect("a cold fan-out of 3 with auto: one write and two reads", () =>
        Effect.gen(function*() {
          const server = yield* SimulatorServer.SimulatorServer
          // a region of its own: a cache no other test of this file touched
          const env = envOf(platform, server.url, platform === "vertex" ? "asia-east1" : "ap-south-1")
          const counts = yield* fanOut(platform).pipe(Effect.provide(warmerOver(platform, env).pipe(Layer.provide(WarmRegistry.layerMemory()))))
          expect(counts).toEqual({ writes: 1, reads: 2 })
        }))
    })
  }

  layer(Server, { excludeTestServices: true })("errors", (it) => {
    it.effect("Bedrock's errors (x-amzn-errortype) are typed, and the retryable ones retried", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const cases: ReadonlyArray<readonly [number, string, string, boolean]> = [
          [400, "ValidationException", "InvalidRequest", false],
          [403, "AccessDeniedException", "PermissionError", false],
          [403, "UnrecognizedClientException", "AuthenticationError", false],
          [404, "ResourceNotFoundException", "NotFound", false],
          [429, "ThrottlingException", "RateLimited", true],
          [503, "ServiceUnavailableException", "Overloaded", true],
          [500, "InternalServerException", "ServerError", true],
          [408, "ModelTimeoutException", "Timeout", true]
        ]
        yield* Effect.gen(function*() {
          const lm = yield* LanguageModel
          for (const [status, type, tag, retryable] of cases) {
            yield* server.script([{ _tag: "Error", status, type, message: `scripted ${type}` }])
            const error = yield* Effect.flip(lm.create(request("bedrock", "e")))
            expect(error._tag).toBe(tag)
            expect(error.detail).toContain(`scripted ${type}`)
            expect(isRetryable(error)).toBe(retryable)
          }
          // a throttle, then success: retried through the schedule
          yield* server.script([{ _tag: "Error", status: 429, type: "ThrottlingException", retryAfterMs: 200 }])
          const ok = yield* RetryPolicy.retry(lm.create(request("bedrock", "r")), RetryPolicy.exponentialBackoff({ baseDelayMs: 1 }))
          expect(ok.usage.output).toBe(40)
        }).pipe(Effect.provide(configured("bedrock", envOf("bedrock", server.url, "us-west-2"))))
      }))

    it.effect("Vertex: Google's error bodies are typed by their status", () =>
      Effect.sync(() => {
        const quota = APIError.APIError.generate(429, { error: { code: 429, message: "Quota exceeded for aiplatform", status: "RESOURCE_EXHAUSTED" } }, undefined, new Headers())
        expect(AnthropicClient.mapError(quota)).toMatchObject({ _tag: "RateLimited", detail: "Quota exceeded for aiplatform" })
        const unauth = APIError.APIError.generate(401, { error: { code: 401, message: "Request had invalid authentication credentials", status: "UNAUTHENTICATED" } }, undefined, new Headers())
        expect(AnthropicClient.mapError(unauth)._tag).toBe("AuthenticationError")
      }))

    it.effect("a request with no credentials at all is refused in each platform's way", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const post = (path: string, body: object) =>
          Effect.promise(() =>
            fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
              .then(async (r) => ({ status: r.status, type: r.headers.get("x-amzn-errortype"), body: await r.json() as Record<string, unknown> }))
          )
        const bedrock = yield* post(`/model/${MODELS.bedrock}/invoke`, { anthropic_version: "bedrock-2023-05-31", max_tokens: 5, messages: [] })
        expect(bedrock.status).toBe(403)
        expect(bedrock.type).toMatch(/^MissingAuthenticationTokenException/)
        const vertex = yield* post(`/v1/projects/p/locations/us-east5/publishers/anthropic/models/${MODELS.vertex}:rawPredict`, {})
        expect(vertex.status).toBe(401)
        expect(vertex.body).toMatchObject({ error: { status: "UNAUTHENTICATED" } })
      }))

    it.effect("a missing credential is a clear error naming what to set; nothing is sent", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const before = (yield* server.received).length
        // Bedrock: no key, no static credentials, and a credential chain with nothing to find
        const saved = { ...process.env }
        for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK"]) delete process.env[k]
        process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/credentials"
        process.env.AWS_CONFIG_FILE = "/nonexistent/config"
        const bedrock = yield* Effect.gen(function*() {
          const lm = yield* LanguageModel
          return yield* Effect.flip(lm.create(request("bedrock", "x")))
        }).pipe(
          Effect.provide(configured("bedrock", envOf("bedrock", server.url, "us-east-1", { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }))),
          Effect.ensuring(Effect.sync(() => void Object.assign(process.env, saved)))
        )
        expect(bedrock._tag).toBe("AuthenticationError")
        expect(bedrock.detail).toContain("AWS_ACCESS_KEY_ID")
        expect(isRetryable(bedrock)).toBe(false)
        // Vertex: no token, and Application Default Credentials pointing at nothing — at layer build
        process.env.GOOGLE_APPLICATION_CREDENTIALS = "/nonexistent/key.json"
        const vertex = yield* Effect.flip(
          Layer.build(configured("vertex", envOf("vertex", server.url, "us-east5", { GOOGLE_OAUTH_ACCESS_TOKEN: undefined }))).pipe(Effect.scoped)
        ).pipe(Effect.ensuring(Effect.sync(() => void delete process.env.GOOGLE_APPLICATION_CREDENTIALS)))
        expect(vertex._tag).toBe("AuthenticationError")
        expect((vertex as { detail: string }).detail).toContain("GOOGLE_OAUTH_ACCESS_TOKEN")
        // a region missing is named too
        const noRegion = yield* Effect.flip(Layer.build(configured("bedrock", new Map([["AWS_ACCESS_KEY_ID", "AKID"]]))).pipe(Effect.scoped))
        expect(String(noRegion)).toContain("AWS_REGION")
        expect((yield* server.received).length).toBe(before)
      }))
  })

  const redisUrl = process.env.REDIS_URL
  const registries: ReadonlyArray<readonly [string, Layer.Layer<WarmRegistry.WarmRegistry>]> = [
    ["in memory", WarmRegistry.layerMemory()],
    // on Redis as well, when .ci/run has started one: the scope is in the shared keys and locks
    ...(redisUrl === undefined || redisUrl === ""
      ? []
      : [["on Redis", RedisRegistry.layer({ url: redisUrl, keyPrefix: `epc-test-${randomUUID()}` })] as const])
  ]
  for (const [where, registry] of registries) layer(Server, { excludeTestServices: true })(`cache scope, registry ${where}`, (it) => {
    it.effect("two regions never share warmth: one registry, two regions, each writes its own prefix once", () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const shared = yield* Layer.build(registry)
        const inRegion = (region: string) =>
          fanOut("bedrock").pipe(Effect.provide(warmerOver("bedrock", envOf("bedrock", server.url, region))), Effect.provide(shared))
        // eu-west-1 after us-east-1: had it believed the prefix warm, its three requests would have
        // gone out at once and written it three times
        expect(yield* inRegion("us-east-1")).toEqual({ writes: 1, reads: 2 })
        expect(yield* inRegion("eu-west-1")).toEqual({ writes: 1, reads: 2 })
        // and the same region again is warm: every request reads
        expect(yield* inRegion("us-east-1")).toEqual({ writes: 0, reads: 3 })
        const scopes = yield* Effect.gen(function*() {
          const lm = yield* LanguageModel
          return lm.cacheScope
        }).pipe(Effect.provide(configured("bedrock", envOf("bedrock", server.url, "eu-west-1"))))
        expect(scopes).toBe("bedrock:eu-west-1:AKIDEXAMPLE")
      }).pipe(Effect.scoped))
  })
})
