import type { TokenCounts } from '../pricing/price'
import { chunkUsage, openAIUsage } from './usage'

/** The counts a chat stream has stated up to `chunk`, as the meter bills them (`openAIUsage`). A translated stream tells its client these. */
export function countsSoFar(held: TokenCounts | null, chunk: { usage?: unknown; choices?: unknown }): TokenCounts | null {
  return openAIUsage(chunkUsage(chunk)) ?? held
}
