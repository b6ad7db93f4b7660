/**
 * The options every route estimates a request with: the configured bounds, and the bounds of a media part and
 * of a file by reference on the model the request goes to. With hard bounds (cap-output on) a media part is held
 * at least at what its price row says one bills there (`Price.mediaPartTokens`: gpt-4o-mini bills a high-detail
 * image up to 48,169 tokens, far past its bytes and the configured bound), and a file by reference at the row's
 * context window when it is larger than the PDF bound (`Price.contextWindowTokens`: a .txt by file id to gpt-4.1
 * bills up to its 1,047,576-token window); the hard bounds of `estimate.ts` apply on top, as ever.
 */
import type { Config } from '../config/schema'
import type { Price } from '../pricing/price'
import type { EstimateOptions } from './estimate'

type EstimateSettings = Pick<Config, 'default_max_output_tokens' | 'media_part_tokens' | 'pdf_page_tokens' | 'pdf_max_pages' | 'cap_output_tokens'>

export function estimateOptionsFor(config: EstimateSettings, price: Price | null, contextWindowTokens?: number): EstimateOptions {
  const modelBound = config.cap_output_tokens ? (price?.mediaPartTokens ?? 0) : 0
  const modelWindow = config.cap_output_tokens ? (price?.contextWindowTokens ?? 0) : 0
  const window = Math.max(contextWindowTokens ?? 0, modelWindow)
  return {
    defaultMaxOutputTokens: config.default_max_output_tokens,
    mediaPartTokens: Math.max(config.media_part_tokens, modelBound),
    pdfPageTokens: config.pdf_page_tokens,
    pdfMaxPages: config.pdf_max_pages,
    hardBounds: config.cap_output_tokens,
    contextWindowTokens: window > 0 ? window : undefined,
  }
}
