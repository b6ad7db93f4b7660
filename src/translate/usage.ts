import type { TokenCounts } from '../pricing/price'

/** Token usage as each wire format reports it, read into the one shape the ledger bills. */

export interface OpenAIUsage {
  prompt_tokens?: number
  completion_tokens?: number
  prompt_tokens_details?: { cached_tokens?: number; audio_tokens?: number } | null
  completion_tokens_details?: { audio_tokens?: number } | null
}

export interface AnthropicUsage {
  input_tokens?: number | null
  output_tokens?: number | null
  cache_read_input_tokens?: number | null
  cache_creation_input_tokens?: number | null
  /** How the cache writes split by lifetime (absent from older answers). */
  cache_creation?: { ephemeral_5m_input_tokens?: number | null; ephemeral_1h_input_tokens?: number | null } | null
  /** Uses of each server tool, as `<tool>_requests`. */
  server_tool_use?: Record<string, number | null> | null
  /** `fast` when fast mode served the request. */
  speed?: string | null
}

const count = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0)

/** Audio tokens are part of the prompt and completion counts; the tier is the answer's `service_tier` (`fast` is OpenAI's name for `priority`). */
export const openAIUsage = (u: OpenAIUsage | undefined | null, serviceTier?: unknown): TokenCounts | null => {
  if (!u || typeof u !== 'object') return null
  const counts: TokenCounts = {
    promptTokens: count(u.prompt_tokens),
    completionTokens: count(u.completion_tokens),
    cachedTokens: count(u.prompt_tokens_details?.cached_tokens),
  }
  const audioIn = count(u.prompt_tokens_details?.audio_tokens)
  const audioOut = count(u.completion_tokens_details?.audio_tokens)
  if (audioIn > 0) counts.audioInputTokens = audioIn
  if (audioOut > 0) counts.audioOutputTokens = audioOut
  if (typeof serviceTier === 'string') counts.tier = serviceTier === 'fast' ? 'priority' : serviceTier
  return counts
}

/**
 * Anthropic reports cache reads and cache writes beside `input_tokens`, not inside it. All three are
 * prompt tokens: the reads are the cached part (billed at the cached rate), the writes are billed at the
 * cache-write rate of their lifetime. Server tools are counted in `server_tool_use` as `<tool>_requests`;
 * an answer without it used none.
 */
export const anthropicUsage = (u: AnthropicUsage | undefined | null): TokenCounts | null => {
  if (!u || typeof u !== 'object') return null
  const cacheRead = count(u.cache_read_input_tokens)
  const cacheWrite = count(u.cache_creation_input_tokens)
  const counts: TokenCounts = {
    promptTokens: count(u.input_tokens) + cacheRead + cacheWrite,
    completionTokens: count(u.output_tokens),
    cachedTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    serverToolUses: serverToolUses(u.server_tool_use),
  }
  if (u.cache_creation && typeof u.cache_creation === 'object') counts.cacheWrite1hTokens = count(u.cache_creation.ephemeral_1h_input_tokens)
  if (typeof u.speed === 'string') counts.tier = u.speed === 'fast' ? 'fast' : 'standard'
  return counts
}

function serverToolUses(used: AnthropicUsage['server_tool_use']): Record<string, number> {
  const uses: Record<string, number> = {}
  if (!used || typeof used !== 'object') return uses
  for (const [key, n] of Object.entries(used)) if (key.endsWith('_requests')) uses[key.slice(0, -'_requests'.length)] = count(n)
  return uses
}
