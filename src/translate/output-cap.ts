import type { ProviderConfig } from '../config/schema'
import { withoutThinking } from './anthropic-thinking'
import { withFieldsLast } from './fields-last'

/** The price catalog's ids (a provider's `catalog:`) of the vendors that serve OpenAI's own API: OpenAI, and Azure. */
const OPENAI_API_CATALOGS: ReadonlySet<string> = new Set(['openai', 'azure'])

/**
 * The request field that caps output at an OpenAI-compatible provider. OpenAI's own API wants
 * `max_completion_tokens` (its reasoning models refuse `max_tokens`, on Azure too): at api.openai.com and its
 * data-residency hosts (eu.api.openai.com), and wherever the config names the provider OpenAI or Azure
 * (`catalog: openai | azure`: a proxy in front of OpenAI, an Azure resource's host); the OpenAI-compatible
 * servers (vLLM, Ollama, Groq…) all read `max_tokens`.
 */
export const openAIOutputCapField = (provider: Pick<ProviderConfig, 'base_url' | 'catalog'>) =>
  servesOpenAIsOwnAPI(provider) ? 'max_completion_tokens' : 'max_tokens'

/** Whether an OpenAI-type provider is OpenAI's own API: its hosts, or a provider the config names OpenAI or Azure. */
export const servesOpenAIsOwnAPI = (provider: Pick<ProviderConfig, 'base_url' | 'catalog'>): boolean =>
  OPENAI_API_CATALOGS.has(provider.catalog ?? '') || isOpenAIHost(new URL(provider.base_url).hostname)

const isOpenAIHost = (hostname: string) => hostname === 'api.openai.com' || hostname.endsWith('.api.openai.com')

/**
 * The fields that surely bound output at this endpoint of this provider: Anthropic's messages read
 * `max_tokens`, the Responses API `max_output_tokens`, OpenAI's chat either of its two, and the
 * OpenAI-compatible servers' chat `max_tokens` only; in the order the provider prefers them. A max sent
 * in any other field may bound nothing.
 */
export function outputCapFieldsRead(path: string, provider: ProviderConfig): string[] {
  if (path === '/v1/messages') return ['max_tokens']
  if (path === '/responses') return ['max_output_tokens']
  if (path === '/chat/completions') return openAIOutputCapField(provider) === 'max_tokens' ? ['max_tokens'] : ['max_completion_tokens', 'max_tokens']
  return []
}

/**
 * The most output this body allows the provider to make at this endpoint, or null when it sets no max: the
 * first field the provider reads. An OpenAI-compatible server's chat may read either field (vLLM, SGLang and
 * Groq `max_completion_tokens`, else `max_tokens`; Ollama `max_tokens` only), so there it is the smaller of the
 * two. A max the gateway sends in the client's stead (cap-output's, the clamp's) is never above it: they lower
 * what the provider would have made, never raise it.
 */
export function clientMaxOutput(path: string, body: Record<string, unknown>, provider: ProviderConfig): number | null {
  if (path === '/chat/completions' && openAIOutputCapField(provider) === 'max_tokens') return smallestMaxOutputIn(body, ['max_completion_tokens', 'max_tokens'])
  return firstMaxOutputIn(body, outputCapFieldsRead(path, provider))
}

const maxIn = (body: Record<string, unknown>, field: string): number | null => {
  const value = body[field]
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.ceil(value) : null
}

const maximaIn = (body: Record<string, unknown>, fields: string[]): number[] => fields.map((field) => maxIn(body, field)).filter((max) => max !== null)

/** The largest max output among these fields of the body, or null when none is set. */
export function largestMaxOutputIn(body: Record<string, unknown>, fields: string[]): number | null {
  const maxima = maximaIn(body, fields)
  return maxima.length === 0 ? null : Math.max(...maxima)
}

/** The smallest max output among these fields of the body, or null when none is set. */
function smallestMaxOutputIn(body: Record<string, unknown>, fields: string[]): number | null {
  const maxima = maximaIn(body, fields)
  return maxima.length === 0 ? null : Math.min(...maxima)
}

/** The max output in the first of these fields that is set, or null when none is. */
export function firstMaxOutputIn(body: Record<string, unknown>, fields: string[]): number | null {
  for (const field of fields) {
    const max = maxIn(body, field)
    if (max !== null) return max
  }
  return null
}

/**
 * The body with `max` in the one field this provider reads, and without the other: an OpenAI-compatible
 * server that reads only `max_tokens` ignores a client's `max_completion_tokens`, and OpenAI refuses both at once.
 */
export function withOpenAIOutputCap(body: Record<string, unknown>, provider: ProviderConfig, max: number): Record<string, unknown> {
  const { max_tokens: _, max_completion_tokens: __, ...rest } = body
  return { ...rest, [openAIOutputCapField(provider)]: max }
}

/** Anthropic's least thinking budget; the budget must also stay below `max_tokens`. */
const MIN_THINKING_BUDGET = 1024

/**
 * An Anthropic body with a lower `max_tokens`. Extended thinking must keep a budget of at least 1024
 * tokens below `max_tokens`: a budget that no longer fits is lowered to half the new maximum (the other
 * half left for the answer), and below 2048 tokens thinking is dropped, the answer coming without it.
 */
export function withAnthropicOutputCap(body: Record<string, unknown>, max: number): Record<string, unknown> {
  const out = withFieldsLast(body, { max_tokens: max })
  const thinking = body.thinking as { type?: unknown; budget_tokens?: unknown } | null | undefined
  if (thinking?.type !== 'enabled' || typeof thinking.budget_tokens !== 'number' || thinking.budget_tokens < max) return out
  if (max >= 2 * MIN_THINKING_BUDGET) return withFieldsLast(out, { thinking: withFieldsLast(thinking, { budget_tokens: Math.floor(max / 2) }) })
  return withoutThinking(out)
}
