import type { ProviderConfig } from '../config/schema'

/**
 * The request field that caps output at an OpenAI-compatible provider. OpenAI's own API wants
 * `max_completion_tokens` (its reasoning models refuse `max_tokens`); the OpenAI-compatible servers
 * (vLLM, Ollama, Groq…) all read `max_tokens`.
 */
export const openAIOutputCapField = (provider: ProviderConfig) =>
  new URL(provider.base_url).hostname === 'api.openai.com' ? 'max_completion_tokens' : 'max_tokens'
