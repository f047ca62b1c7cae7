/**
 * A conversation with everything the translation to Chat Completions has to carry: a system prompt,
 * a tool, an assistant turn with text and two parallel tool calls, their results (one of them as text
 * blocks, optionally marked with a breakpoint), an image and a question.
 */
import type { MessagesRequest } from "../../src/Prompt.js"

export const toolConversation = (options: {
  readonly model: string
  readonly system: MessagesRequest["system"]
  readonly results: readonly [string, string]
  /** a breakpoint on the second tool result */
  readonly marked: boolean
}): MessagesRequest => ({
  model: options.model,
  max_tokens: 100,
  system: options.system,
  tools: [{ name: "read", description: "read a file", input_schema: { type: "object", properties: { path: { type: "string" } } } }],
  messages: [
    { role: "user", content: "Read both files." },
    {
      role: "assistant",
      content: [
        { type: "text", text: "Reading them." },
        { type: "tool_use", id: "call_1", name: "read", input: { path: "a.ts" } },
        { type: "tool_use", id: "call_2", name: "read", input: { path: "b.ts" } }
      ]
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "call_1", content: options.results[0] },
        {
          type: "tool_result",
          tool_use_id: "call_2",
          content: [{ type: "text", text: options.results[1] }],
          ...(options.marked ? { cache_control: { type: "ephemeral" as const } } : {})
        },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
        { type: "text", text: "What differs?" }
      ]
    }
  ]
})
