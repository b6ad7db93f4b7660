/**
 * The options every route estimates a request with: the configured bounds, and the bounds of a media part and
 * of a file by reference on the model the request goes to. With hard bounds (cap-output on) a media part is held
 * at least at what its price row says one bills there (`Price.mediaPartTokens`: gpt-4o-mini bills a high-detail
 * image up to 48,169 tokens, far past its bytes and the configured bound), and a file by reference at the row's
 * context window when it is larger than the PDF bound (`Price.contextWindowTokens`: a .txt by file id to gpt-4.1
 * bills up to its 1,047,576-token window); the hard bounds of `estimate.ts` apply on top, as ever. Towards an
 * Anthropic provider a request may carry more PDF pages (`anthropicPdfMaxPages`), and its files and media are held no
 * more than its window (for Claude 1M tokens when its row states none: `LONG_CONTEXT_WINDOW_TOKENS`, or the one
 * `context-1m-…` opens; another model's only when its row states it), which Anthropic refuses a prompt past.
 * Towards a provider that renders a chat template of its own, a request holds the template allowance once: its row's
 * `template_overhead_tokens`, else the configured one. A `fileid://` in a message's text is a file by reference only
 * to a model that reads it so (`readsFileIdUrls`).
 */
import type { Config, ProviderConfig } from '../config/schema'
import { isClaudeModel, LONG_CONTEXT_WINDOW_TOKENS } from '../pricing/features'
import type { Price } from '../pricing/price'
import { servesOpenAIsOwnAPI } from '../translate/output-cap'
import type { EstimateOptions } from './estimate'

type EstimateSettings = Pick<
  Config,
  'default_max_output_tokens' | 'media_part_tokens' | 'pdf_page_tokens' | 'pdf_max_pages' | 'cap_output_tokens' | 'template_overhead_tokens'
>

/** Where a request goes, as the bounds of its files need it. */
interface EstimateTarget {
  /** An Anthropic-type provider reads its files: the request is Messages, or chat or Responses translated to it. */
  anthropic?: boolean
  /** The context window the request opens on its provider (`context-1m-…`: `contextWindowOf`), read for Claude only. */
  openedWindowTokens?: number
  /** The model the provider is sent: only Claude's window is known without its row (`isClaudeModel`). */
  upstreamModel?: string
  /** The provider the request goes to: whether it renders a chat template of its own (`rendersChatTemplate`). */
  provider?: Pick<ProviderConfig, 'type' | 'base_url' | 'catalog'>
}

/**
 * Whether the provider renders the prompt with the model's chat template, which may write text of its own: an
 * OpenAI-compatible server that is not OpenAI's own API (vLLM, SGLang, Ollama, LM Studio, and the hosts that run
 * them: Groq, Together, OpenRouter…). OpenAI's API and Anthropic's bill no text the request does not show but
 * their tool-use prompts, held apart.
 */
const rendersChatTemplate = (provider: EstimateTarget['provider']): boolean => provider?.type === 'openai' && !servesOpenAIsOwnAPI(provider)

/**
 * Whether the model reads a `fileid://…` in its messages' text as a file uploaded to its provider: DashScope's
 * Qwen-Long and Qwen-Doc family (by the model's name, after a router's prefix such as LiteLLM's `dashscope/`), or
 * any model DashScope itself serves (its hosts `dashscope…aliyuncs.com`), which may add such models under other names.
 */
const readsFileIdUrls = (target: EstimateTarget): boolean =>
  /(^|\/)qwen-(long|doc)/i.test(target.upstreamModel ?? '') || (target.provider !== undefined && isDashScopeHost(new URL(target.provider.base_url).hostname))

const isDashScopeHost = (hostname: string) => /(^|\.)dashscope[a-z0-9-]*\.aliyuncs\.com$/i.test(hostname)

/**
 * Anthropic's limit of PDF pages in one request: "600 (100 when the request's context window is under 1M tokens)"
 * (platform.claude.com, PDF support). Every Claude model from Opus and Sonnet 4.6 has a 1M window without a flag.
 */
const ANTHROPIC_PDF_MAX_PAGES = 600

/**
 * The PDF pages a request to Anthropic may carry: 600, unless the window it has there is known to be under 1M
 * tokens (its row's `context_window_tokens`, with no `context-1m-…` opening more), where it is the configured
 * maximum, Anthropic's 100 by default. A configured maximum above 600 is kept: the operator's bound is never lowered.
 */
const anthropicPdfMaxPages = (configured: number, windowTokens: number): number =>
  windowTokens > 0 && windowTokens < LONG_CONTEXT_WINDOW_TOKENS ? configured : Math.max(configured, ANTHROPIC_PDF_MAX_PAGES)

export function estimateOptionsFor(config: EstimateSettings, price: Price | null, target: EstimateTarget = {}): EstimateOptions {
  const modelBound = config.cap_output_tokens ? (price?.mediaPartTokens ?? 0) : 0
  const modelWindow = config.cap_output_tokens ? (price?.contextWindowTokens ?? 0) : 0
  const anthropic = config.cap_output_tokens && target.anthropic === true
  // Unknown on its row and not opened, a Claude model's window is at most the long one: none is larger. Another model
  // behind an Anthropic-compatible endpoint may have a larger one (Grok 4 Fast, 2M): unknown, it caps nothing, and
  // `context-1m-…` is Anthropic's flag, which opens nothing there: only its row's window bounds it.
  const claude = anthropic && isClaudeModel(target.upstreamModel ?? '')
  const opened = claude ? (target.openedWindowTokens ?? 0) : 0
  const window = Math.max(opened, modelWindow) || (claude ? LONG_CONTEXT_WINDOW_TOKENS : 0)
  return {
    defaultMaxOutputTokens: config.default_max_output_tokens,
    mediaPartTokens: Math.max(config.media_part_tokens, modelBound),
    pdfPageTokens: config.pdf_page_tokens,
    pdfMaxPages: anthropic ? anthropicPdfMaxPages(config.pdf_max_pages, window) : config.pdf_max_pages,
    hardBounds: config.cap_output_tokens,
    contextWindowTokens: window > 0 ? window : undefined,
    promptsWithinWindow: anthropic,
    templateOverheadTokens: config.cap_output_tokens && rendersChatTemplate(target.provider) ? (price?.templateOverheadTokens ?? config.template_overhead_tokens) : 0,
    readsFileIdUrls: readsFileIdUrls(target),
  }
}
