import type { TokenCounts } from '../pricing/price'

/**
 * Each count the larger of the two: usages a stream states are cumulative, so a later, smaller one (a proxy's
 * zeros, a final event repeated) shrinks nothing. The tier the later one states, if it states one
 * (`openAIUsage` sets none it was not told).
 */
export function largerCounts(held: TokenCounts | null, stated: TokenCounts): TokenCounts {
  if (!held) return stated
  const counts: TokenCounts = { ...held, ...stated }
  for (const key of ['promptTokens', 'completionTokens', 'cachedTokens', 'cacheWriteTokens', 'cacheWrite1hTokens', 'audioInputTokens', 'audioOutputTokens'] as const) {
    const n = Math.max(held[key] ?? -1, stated[key] ?? -1)
    if (n >= 0) counts[key] = n
  }
  if (held.serverToolUses || stated.serverToolUses) {
    const uses = { ...held.serverToolUses }
    for (const [tool, n] of Object.entries(stated.serverToolUses ?? {})) uses[tool] = Math.max(Object.hasOwn(uses, tool) ? uses[tool]! : 0, n)
    counts.serverToolUses = uses
  }
  return counts
}
