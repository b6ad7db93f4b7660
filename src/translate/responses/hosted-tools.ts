import type { Config } from '../../config/schema'
import { paymentRequired } from '../../http/errors'
import type { Price } from '../../pricing/price'

type Json = Record<string, any>

/**
 * Tools the provider runs itself and bills per use beyond tokens (a search, a container session, an
 * image). Function and custom tools run on the client and cost only tokens.
 */
const FEE_TOOLS = new Set([
  'web_search', 'web_search_preview', 'web_search_2025_08_26', 'web_search_preview_2025_03_11',
  'file_search', 'code_interpreter', 'image_generation',
])

/** The types of the tools in a request that the provider would bill per use, each once. */
export function feeToolsOf(tools: unknown): string[] {
  if (!Array.isArray(tools)) return []
  return [...new Set(tools.map((t: Json) => String(t?.type)).filter((type) => FEE_TOOLS.has(type)))]
}

/**
 * Require-pricing for billed features (SPEC §5): a hosted tool with a per-use fee is served only when the
 * price book can price it. The price book has no feature prices yet, so with pricing required every such
 * tool is refused here, naming it; once feature prices exist, this is where they are looked up (and the
 * worst case of their use added to the hold).
 */
export function refuseUnpricedFeatures(features: readonly string[], _price: Price | null, config: Pick<Config, 'require_pricing'>): void {
  if (features.length === 0 || !config.require_pricing) return
  throw paymentRequired(
    'pricing_required',
    `No price is set for the hosted tool${features.length > 1 ? 's' : ''} ${features.join(', ')}; the gateway serves only features it can price.`,
  )
}

/** Client-run function tools, and the types of the tools the target cannot run (dropped, each named once). */
export function splitTools(tools: unknown): { functions: Json[]; dropped: string[] } {
  const functions: Json[] = []
  const dropped = new Set<string>()
  if (Array.isArray(tools)) for (const tool of tools) {
    if (tool?.type === 'function') functions.push(tool)
    else dropped.add(String(tool?.type))
  }
  return { functions, dropped: [...dropped] }
}

/** The response header naming the tools that were not sent to a translated target. */
export const DROPPED_TOOLS_HEADER = 'x-tollgate-dropped-tools'
