import type { TokenCounts } from '../pricing/price'

/** Token usage as each wire format reports it, read into the one shape the ledger bills. */

export interface OpenAIUsage {
  prompt_tokens?: number
  completion_tokens?: number
  prompt_tokens_details?: { cached_tokens?: number } | null
}

export interface AnthropicUsage {
  input_tokens?: number | null
  output_tokens?: number | null
  cache_read_input_tokens?: number | null
  cache_creation_input_tokens?: number | null
}

const count = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0)

export const openAIUsage = (u: OpenAIUsage | undefined | null): TokenCounts | null =>
  u && typeof u === 'object'
    ? { promptTokens: count(u.prompt_tokens), completionTokens: count(u.completion_tokens), cachedTokens: count(u.prompt_tokens_details?.cached_tokens) }
    : null

/**
 * Anthropic reports cache reads and cache writes beside `input_tokens`, not inside it. All three are
 * prompt tokens; the reads are the cached part (billed at the cached rate), the writes are billed as input.
 */
export const anthropicUsage = (u: AnthropicUsage | undefined | null): TokenCounts | null => {
  if (!u || typeof u !== 'object') return null
  const cacheRead = count(u.cache_read_input_tokens)
  return {
    promptTokens: count(u.input_tokens) + cacheRead + count(u.cache_creation_input_tokens),
    completionTokens: count(u.output_tokens),
    cachedTokens: cacheRead,
  }
}

export interface ResponsesUsage {
  input_tokens?: number | null
  input_tokens_details?: { cached_tokens?: number | null } | null
  output_tokens?: number | null
}

/**
 * The Responses API counts cached tokens inside `input_tokens`, and reasoning tokens inside
 * `output_tokens`: each token once, at its own rate.
 */
export const responsesUsage = (u: ResponsesUsage | undefined | null): TokenCounts | null =>
  u && typeof u === 'object'
    ? { promptTokens: count(u.input_tokens), completionTokens: count(u.output_tokens), cachedTokens: count(u.input_tokens_details?.cached_tokens) }
    : null
