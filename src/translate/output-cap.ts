import type { ProviderConfig } from '../config/schema'

/**
 * The request field that caps output at an OpenAI-compatible provider. OpenAI's own API wants
 * `max_completion_tokens` (its reasoning models refuse `max_tokens`); the OpenAI-compatible servers
 * (vLLM, Ollama, Groq…) all read `max_tokens`.
 */
export const openAIOutputCapField = (provider: ProviderConfig) =>
  new URL(provider.base_url).hostname === 'api.openai.com' ? 'max_completion_tokens' : 'max_tokens'

/**
 * The body with `max` in the one field this provider reads, and without the other: an OpenAI-compatible
 * server that reads only `max_tokens` ignores a client's `max_completion_tokens`, and OpenAI refuses both at once.
 */
export function withOpenAIOutputCap(body: Record<string, unknown>, provider: ProviderConfig, max: number): Record<string, unknown> {
  const { max_tokens: _, max_completion_tokens: __, ...rest } = body
  return { ...rest, [openAIOutputCapField(provider)]: max }
}
