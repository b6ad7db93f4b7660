import { largerCounts } from '../metering/larger-counts'
import type { TokenCounts } from '../pricing/price'
import { chunkUsage, openAIUsage } from './usage'

/**
 * The counts a chat stream has stated up to `chunk`, as the meter bills them: each usage read by `openAIUsage`,
 * each count the largest stated (`largerCounts`), so that a later, smaller usage (a proxy's zeros after the
 * provider's) shrinks nothing. A translated stream tells its client these.
 */
export function countsSoFar(held: TokenCounts | null, chunk: { usage?: unknown; choices?: unknown }): TokenCounts | null {
  const stated = openAIUsage(chunkUsage(chunk))
  return stated ? largerCounts(held, stated) : held
}
