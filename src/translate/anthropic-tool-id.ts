/** The ids Anthropic takes for `tool_use.id` and the `tool_result.tool_use_id` answering it; it refuses others (400). */
const ANTHROPIC_TOOL_ID = /^[a-zA-Z0-9_-]+$/

/**
 * A tool call's id as Anthropic takes it. OpenAI takes any string, and a chat history carries ids other
 * servers made (Kimi's `functions.get_weather:0`). The id only pairs a call with its result, so one mapping
 * serves both: an id Anthropic takes stays as it is; any other has each other character as `_`, followed by a
 * short hash of the whole id, so that ids differing only there stay apart.
 */
export function anthropicToolId(id: string): string {
  if (ANTHROPIC_TOOL_ID.test(id)) return id
  const hash = new Bun.CryptoHasher('sha256').update(id).digest('base64url').slice(0, 12)
  return `${id.replace(/[^a-zA-Z0-9_-]/g, '_')}_${hash}`
}
