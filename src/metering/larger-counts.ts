import type { TokenCounts } from '../pricing/price'

/**
 * Each count the larger of the two: usages a stream states are cumulative, so a later, smaller one (a proxy's
 * zeros, a final event repeated) shrinks nothing, the image tool's model input (reported apart from the usage)
 * included. The tier and geography the later one states (`openAIUsage` sets none it was not told) only if it
 * counts no less than the one held: a smaller trailer's "default" would bill the provider's priority tokens at the
 * plain rates.
 */
export function largerCounts(held: TokenCounts | null, stated: TokenCounts): TokenCounts {
  if (!held) return stated
  const restates = stated.promptTokens >= held.promptTokens && stated.completionTokens >= held.completionTokens
  const counts: TokenCounts = restates ? { ...held, ...stated } : { ...stated, ...held }
  for (const key of ['promptTokens', 'completionTokens', 'cachedTokens', 'cacheWriteTokens', 'cacheWrite5mTokens', 'cacheWrite1hTokens', 'audioInputTokens', 'audioOutputTokens', 'imageOutputTokens', 'reasoningTokens'] as const) {
    const n = Math.max(held[key] ?? -1, stated[key] ?? -1)
    if (n >= 0) counts[key] = n
  }
  if (held.serverToolUses || stated.serverToolUses) {
    const uses = { ...held.serverToolUses }
    for (const [tool, n] of Object.entries(stated.serverToolUses ?? {})) uses[tool] = Math.max(Object.hasOwn(uses, tool) ? uses[tool]! : 0, n)
    counts.serverToolUses = uses
  }
  const image = held.imageModelTokens, statedImage = stated.imageModelTokens
  if (image && statedImage) {
    counts.imageModelTokens = { textTokens: Math.max(image.textTokens, statedImage.textTokens), imageTokens: Math.max(image.imageTokens, statedImage.imageTokens) }
  }
  return counts
}
