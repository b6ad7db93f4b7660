import { anthropicServerToolUses, responsesServerToolUses, type OfferedTools } from '../pricing/features'
import { reportedImageModelTokens } from '../pricing/image-model-input'
import type { TokenCounts } from '../pricing/price'
import { MAX_TOKEN_COUNT } from '../records/token-count'

/** Token usage as each wire format reports it, read into the one shape the ledger bills. */

export interface OpenAIUsage {
  prompt_tokens?: number
  completion_tokens?: number
  total_tokens?: number
  /**
   * `cache_write_tokens`: OpenRouter's prompt-cache writes, inside `prompt_tokens`. `web_search_requests`: the
   * searches LiteLLM's proxy reports there (beside `server_tool_use`).
   */
  prompt_tokens_details?: { cached_tokens?: number; audio_tokens?: number; cache_write_tokens?: number; web_search_requests?: number | null } | null
  completion_tokens_details?: { audio_tokens?: number; image_tokens?: number; reasoning_tokens?: number } | null
  /** Perplexity's reasoning, citation and search counts, at the top of `usage` and outside `completion_tokens` and `total_tokens`. */
  reasoning_tokens?: number | null
  citation_tokens?: number | null
  num_search_queries?: number | null
  /** The sources xAI's Live Search used. */
  num_sources_used?: number | null
  /** Cache reads inside `prompt_tokens`, where Moonshot (`cached_tokens`) and DeepSeek (`prompt_cache_hit_tokens`) report them. */
  cached_tokens?: number | null
  prompt_cache_hit_tokens?: number | null
  /** LiteLLM's proxy reports prompt-cache writes and server tool uses as Anthropic does, beside the OpenAI counts. */
  cache_creation_input_tokens?: number | null
  cache_creation?: AnthropicUsage['cache_creation']
  server_tool_use?: AnthropicUsage['server_tool_use']
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
  /** The service tier that served it: Anthropic's own (`standard`), or OpenAI's where a router serves its models (`priority`). */
  service_tier?: string | null
  /** Where inference ran: `global`, `us` (US-only inference, billed above the global rates). */
  inference_geo?: string | null
  /** Each sampling pass of the request (a compaction pass, the answer's), whose sum the top-level counts may leave short. */
  iterations?: ReadonlyArray<IterationUsage | null> | null
}

type IterationUsage = Pick<AnthropicUsage, 'input_tokens' | 'output_tokens' | 'cache_read_input_tokens' | 'cache_creation_input_tokens' | 'cache_creation'> & { type?: string | null }

/**
 * A count as the ledger bills it: a fraction of a token (no provider sends one) is rounded up, never down to free;
 * more than MAX_TOKEN_COUNT is read as that many, so that a settlement is never refused for its numbers and the
 * totals still answer (its cost is capped at MAX_REQUEST_MICROS in any case).
 */
const count = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.min(Math.ceil(n), MAX_TOKEN_COUNT) : 0)

/**
 * A usage is only one when it has the counts its format always reports, as finite numbers of no less than 0: an
 * object without them (`{}`, counts as strings, only a total, `1e309` which parses as Infinity, `-10000` from a
 * proxy's subtraction gone wrong) says nothing the gateway can bill, and read as zeros it would make the answer
 * free. Such an answer is billed as one without usage.
 */
export const reports = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0

/**
 * Where each usage shape keeps the counts the gateway reads, beside its required ones: `count` a count, `requests`
 * an object of `<tool>_requests` counts (`server_tool_use`), a nested shape an object of counts, `[shape]` a list of them.
 */
type CountShape = 'count' | 'requests' | { readonly [key: string]: CountShape } | readonly [CountShape]

const CACHE_WRITE_SPLIT: CountShape = { ephemeral_5m_input_tokens: 'count', ephemeral_1h_input_tokens: 'count' }
const ANTHROPIC_PASS = { input_tokens: 'count', output_tokens: 'count', cache_read_input_tokens: 'count', cache_creation_input_tokens: 'count', cache_creation: CACHE_WRITE_SPLIT } as const
const ANTHROPIC_COUNTS: CountShape = { ...ANTHROPIC_PASS, server_tool_use: 'requests', iterations: [ANTHROPIC_PASS] }
const OPENAI_COUNTS: CountShape = {
  prompt_tokens: 'count', completion_tokens: 'count', total_tokens: 'count',
  prompt_tokens_details: { cached_tokens: 'count', audio_tokens: 'count', cache_write_tokens: 'count', web_search_requests: 'count' },
  completion_tokens_details: { audio_tokens: 'count', image_tokens: 'count', reasoning_tokens: 'count' },
  reasoning_tokens: 'count', citation_tokens: 'count', num_search_queries: 'count', num_sources_used: 'count',
  cached_tokens: 'count', prompt_cache_hit_tokens: 'count',
  cache_creation_input_tokens: 'count', cache_creation: CACHE_WRITE_SPLIT, server_tool_use: 'requests',
}
const RESPONSES_COUNTS: CountShape = {
  input_tokens: 'count', output_tokens: 'count', total_tokens: 'count',
  input_tokens_details: { cached_tokens: 'count', audio_tokens: 'count', cache_write_tokens: 'count' },
  output_tokens_details: { audio_tokens: 'count', image_tokens: 'count', reasoning_tokens: 'count' },
}

/**
 * Whether a usage states one of the counts the gateway reads (`shape`: its details, its cache reads and writes and
 * their split, its server tool uses, its iterations) as no count: negative, not finite (`1e309`), or not a number
 * (`"10000"`: protobuf's JSON mapping writes an int64 so, and a gRPC gateway in front of a provider sends it). Read
 * as 0, such a count would bill the prompt short (Anthropic's cache reads and writes are beside `input_tokens`), so
 * a usage stating one is no usage either (`reports`). A count left out, or null, states nothing; the other numbers
 * a usage carries are no counts (Groq's timings, a router's `cost`), and are not read.
 */
function statesUnusableCount(stated: unknown, shape: CountShape): boolean {
  if (stated == null) return false
  if (shape === 'count') return !reports(stated)
  if (typeof stated !== 'object') return false
  const fields = stated as Record<string, unknown>
  if (shape === 'requests') return Object.keys(fields).some((key) => key.endsWith('_requests') && statesUnusableCount(fields[key], 'count'))
  if (isList(shape)) return Array.isArray(stated) && stated.some((item) => statesUnusableCount(item, shape[0]))
  return Object.entries(shape).some(([key, inner]) => Object.hasOwn(fields, key) && statesUnusableCount(fields[key], inner))
}

const isList = (shape: CountShape): shape is readonly [CountShape] => Array.isArray(shape)

/**
 * The output tokens a usage bills. OpenAI counts reasoning inside the output count; some OpenAI-compatible
 * servers leave it out (Gemini's thinking: `completion_tokens` 424 with `total_tokens` 1,016 for a 20-token
 * prompt; a proxy reporting `completion_tokens` 0 beside `reasoning_tokens` 60), though it is billed as output.
 * So the output is never taken as less than the total's share past the prompt, nor than the reasoning alone
 * (then reasoning and answer both, when the output count is smaller than its own reasoning part), nor than the
 * output with what a server counts `outside` both it and the total (Perplexity's top-level reasoning and citations).
 */
function billedOutput(output: number, prompt: number, total: unknown, reasoning: number, outside = 0): number {
  const fromTotal = count(total) - prompt
  return Math.max(output + outside, fromTotal, reasoning > output ? output + reasoning : 0)
}

/**
 * Audio tokens are part of the prompt and completion counts, and so are images generated (OpenRouter's
 * `completion_tokens_details.image_tokens`); the tier is the answer's `service_tier` (`fast` is
 * OpenAI's name for `priority`). Prompt-cache writes, which OpenAI does not report, are read as OpenAI-compatible
 * servers in front of Claude report them: OpenRouter's `prompt_tokens_details.cache_write_tokens`, LiteLLM's
 * `cache_creation_input_tokens` with its `cache_creation` split by lifetime (`cacheWrites`). Searches are counted
 * where a server reports them (`searchUses`); a usage without such a count leaves the uses to the request.
 */
export const openAIUsage = (u: OpenAIUsage | undefined | null, serviceTier?: unknown): TokenCounts | null => {
  if (!u || typeof u !== 'object' || !reports(u.prompt_tokens) || !reports(u.completion_tokens) || statesUnusableCount(u, OPENAI_COUNTS)) return null
  const cached = cacheReads(u)
  const writes = cacheWrites(u)
  const prompt = Math.max(count(u.prompt_tokens), cached + writes.tokens)
  const counts: TokenCounts = {
    promptTokens: prompt,
    completionTokens: billedOutput(count(u.completion_tokens), prompt, u.total_tokens, count(u.completion_tokens_details?.reasoning_tokens), perplexityOutput(u)),
    cachedTokens: cached,
  }
  const uses = searchUses(u)
  if (uses !== undefined) Object.assign(counts, { serverToolUses: uses, countsOnlyToolsNamed: true })
  if (writes.tokens > 0) counts.cacheWriteTokens = writes.tokens
  if (writes.split) {
    counts.cacheWrite5mTokens = writes.split.tokens5m
    counts.cacheWrite1hTokens = writes.split.tokens1h
  }
  const reasoning = Math.min(Math.max(count(u.completion_tokens_details?.reasoning_tokens), count(u.reasoning_tokens)), counts.completionTokens)
  if (reasoning > 0) counts.reasoningTokens = reasoning
  const audioIn = count(u.prompt_tokens_details?.audio_tokens)
  const audioOut = count(u.completion_tokens_details?.audio_tokens)
  const imageOut = count(u.completion_tokens_details?.image_tokens)
  if (audioIn > 0) counts.audioInputTokens = audioIn
  if (audioOut > 0) counts.audioOutputTokens = audioOut
  if (imageOut > 0) counts.imageOutputTokens = imageOut
  const tier = reportedTier(serviceTier)
  if (tier !== undefined) counts.tier = tier
  return counts
}

/**
 * The usage a chat completion chunk states: its own (OpenAI's, in the last chunk), or where it has none the first
 * one a choice carries (Moonshot's `choices[0].usage`). The meter bills it and a translated stream shows it its client.
 */
export function chunkUsage(chunk: { usage?: unknown; choices?: unknown }): OpenAIUsage | null {
  if (isObject(chunk.usage)) return chunk.usage
  if (!Array.isArray(chunk.choices)) return null
  for (const choice of chunk.choices) if (isObject(choice) && isObject(choice.usage)) return choice.usage
  return null
}

const isObject = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object'

/**
 * The prompt-cache reads an OpenAI-compatible usage reports, the largest of its shapes: OpenAI's
 * `prompt_tokens_details.cached_tokens`, Moonshot's top-level `cached_tokens`, DeepSeek's `prompt_cache_hit_tokens`.
 * All are inside `prompt_tokens`, so none counts more than it: a field that means something else on another server
 * never raises the prompt billed.
 */
const cacheReads = (u: OpenAIUsage): number =>
  Math.min(count(u.prompt_tokens), Math.max(count(u.prompt_tokens_details?.cached_tokens), count(u.cached_tokens), count(u.prompt_cache_hit_tokens)))

/**
 * The prompt-cache writes an OpenAI-compatible usage reports, the larger of its two shapes (OpenRouter's, LiteLLM's)
 * and of LiteLLM's split by lifetime, with that split when it states one. Both are inside the prompt count; a server
 * that left them out has its prompt raised to them (`openAIUsage`), so that they are never billed as plain input nor dropped.
 */
function cacheWrites(u: OpenAIUsage): { tokens: number; split?: { tokens5m: number; tokens1h: number } } {
  const tokens = Math.max(count(u.prompt_tokens_details?.cache_write_tokens), count(u.cache_creation_input_tokens))
  if (!u.cache_creation || typeof u.cache_creation !== 'object') return { tokens }
  const split = { tokens5m: count(u.cache_creation.ephemeral_5m_input_tokens), tokens1h: count(u.cache_creation.ephemeral_1h_input_tokens) }
  return { tokens: Math.max(tokens, split.tokens5m + split.tokens1h), split }
}

/**
 * Output Perplexity reports outside `completion_tokens` (sonar-deep-research: 73,248 reasoning and 7,299 citation
 * tokens beside 3,256). It bills reasoning at $3/M and citations at $2/M, both below the $8/M output rate: billed
 * as output, the price catalog folding their rates into it where dearer, they are never billed for less.
 */
const perplexityOutput = (u: OpenAIUsage): number => count(u.reasoning_tokens) + count(u.citation_tokens)

/**
 * Server tool uses a chat usage counts: Perplexity's searches (`num_search_queries`), the sources xAI's Live Search
 * used (`live_search`), and the server tools a router in front of Claude ran (LiteLLM's `server_tool_use`, as
 * Anthropic counts them, and its `prompt_tokens_details.web_search_requests`); of two counts of the searches, the
 * larger. A usage that counts none leaves the uses to the request, and so does one that counts other tools
 * (`num_sources_used` is no count of the searches): a tool it does not name is billed as held (`countsOnlyToolsNamed`).
 */
function searchUses(u: OpenAIUsage): Record<string, number> | undefined {
  const router = u.server_tool_use && typeof u.server_tool_use === 'object' ? serverToolUses(u.server_tool_use) : undefined
  const searches = [u.num_search_queries, u.prompt_tokens_details?.web_search_requests, router?.web_search].filter(reports)
  if (router === undefined && searches.length === 0 && !reports(u.num_sources_used)) return undefined
  const uses: Record<string, number> = { ...router }
  if (searches.length > 0) uses.web_search = Math.max(...searches.map(count))
  if (reports(u.num_sources_used)) uses.live_search = count(u.num_sources_used)
  return uses
}

/** Embeddings are billed on their input alone. */
const embeddingsUsage = (u: { prompt_tokens?: unknown } | undefined | null): TokenCounts | null =>
  u && typeof u === 'object' && reports(u.prompt_tokens) ? { promptTokens: count(u.prompt_tokens), completionTokens: 0, cachedTokens: 0 } : null

/**
 * An embeddings answer's counts. A usage of no input beside the vectors it returns (a proxy's zeros, a server
 * that does not count) is none, and the answer pays its hold: a request the provider embedded is never free.
 */
export function embeddingsCounts(answer: { usage?: { prompt_tokens?: unknown } | null; data?: unknown }): TokenCounts | null {
  const counts = embeddingsUsage(answer.usage)
  return counts !== null && counts.promptTokens === 0 && Array.isArray(answer.data) && answer.data.length > 0 ? null : counts
}

/** The service tier an OpenAI answer says served it, as the price book names it (`fast` is OpenAI's name for `priority`). */
export const reportedTier = (tier: unknown): string | undefined => (typeof tier !== 'string' ? undefined : tier === 'fast' ? 'priority' : tier)

/** The tier an OpenAI JSON answer (a chat completion, a response object) names at its top level, beside its usage. */
export const statedTier = (answer: { service_tier?: unknown }): string | undefined => reportedTier(answer.service_tier)

/**
 * Anthropic reports cache reads and cache writes beside `input_tokens`, not inside it. All three are
 * prompt tokens: the reads are the cached part (billed at the cached rate), the writes are billed at the
 * cache-write rate of their lifetime. Server tools are counted in `server_tool_use` as `<tool>_requests`
 * (web search and web fetch only: code execution is counted from the answer's blocks, `withUsesShown`);
 * an answer without it used none; `speed` is the tier, else a `service_tier` other than `standard` (an
 * Anthropic-compatible router reports OpenAI's tier there: `priority`, or `default` when it fell back, billed plain;
 * Anthropic's own `standard`, on every answer, is its capacity tier, not fast mode's: it leaves the tier asked for),
 * `inference_geo` where inference ran. With `iterations`, each kind is the larger of its top-level count and its
 * sum over the iterations: server-side compaction's pass is billed, but only the iterations count it.
 * The writes' split by lifetime covers only what it counts: the writes are at least its two parts together
 * (a split beside a total of 0 is no free write), and those it leaves out (an iteration that does not split
 * its own) are the price's to bill at the request's longest lifetime (`costOf`).
 * Iterations without their counts as numbers make the usage unreadable (it would be billed short).
 */
export const anthropicUsage = (u: AnthropicUsage | undefined | null): TokenCounts | null => {
  if (!u || typeof u !== 'object' || !reports(u.input_tokens) || !reports(u.output_tokens) || statesUnusableCount(u, ANTHROPIC_COUNTS)) return null
  const passes = iterations(u.iterations)
  if (passes === null) return null
  const summed = (read: (pass: IterationUsage) => unknown) => passes.reduce((sum, pass) => sum + count(read(pass)), 0)
  const total = (read: (pass: IterationUsage) => unknown) => Math.max(count(read(u)), count(summed(read)))
  const cacheRead = total((p) => p.cache_read_input_tokens)
  const split = [u, ...passes].some((p) => p.cache_creation && typeof p.cache_creation === 'object')
  const write5m = total((p) => p.cache_creation?.ephemeral_5m_input_tokens)
  const write1h = total((p) => p.cache_creation?.ephemeral_1h_input_tokens)
  const cacheWrite = Math.max(total((p) => p.cache_creation_input_tokens), write5m + write1h)
  const counts: TokenCounts = {
    promptTokens: total((p) => p.input_tokens) + cacheRead + cacheWrite,
    completionTokens: total((p) => p.output_tokens),
    cachedTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    serverToolUses: serverToolUses(u.server_tool_use),
  }
  if (split) {
    counts.cacheWrite5mTokens = write5m
    counts.cacheWrite1hTokens = write1h
  }
  if (typeof u.speed === 'string') counts.tier = u.speed === 'fast' ? 'fast' : 'standard'
  else if (typeof u.service_tier === 'string' && u.service_tier !== 'standard') counts.tier = reportedTier(u.service_tier)
  if (typeof u.inference_geo === 'string') counts.inferenceGeo = u.inference_geo
  return counts
}

/**
 * Whether an answer's blocks showing a server tool are uses the provider bills: those of a tool the request offered
 * (`offered`: its billed server tools, by the price book's name; unknown: every tool). A tool it did not offer ran
 * on the provider's own account: Anthropic's web search and web fetch with dynamic filtering (`web_search_20260209`,
 * `web_fetch_20260209`) run code execution on their results, shown as `code_execution` and `bash_code_execution`
 * blocks, and Anthropic does not charge it.
 */
export const billedWhenShown = (tool: string, offered: Readonly<Record<string, number>> | undefined): boolean =>
  offered === undefined || Object.hasOwn(offered, tool)

/**
 * The counts with the uses the answer's `server_tool_use` blocks show of each server tool the request offered
 * (`billedWhenShown`), where they are more than the usage counts: Anthropic's usage counts web search and web
 * fetch requests but not code execution, which shows only in the blocks, and a compatible server (OpenRouter's
 * Anthropic endpoint) may leave `server_tool_use` out of its usage altogether, though its answer shows the
 * searches it ran.
 */
export function withUsesShown(counts: TokenCounts | null, shown: Record<string, number>, offered?: Readonly<Record<string, number>>): TokenCounts | null {
  if (!counts) return null
  const uses = { ...counts.serverToolUses }
  for (const [tool, n] of Object.entries(shown))
    if (billedWhenShown(tool, offered) && n > (Object.hasOwn(uses, tool) ? uses[tool]! : 0)) uses[tool] = n
  return { ...counts, serverToolUses: uses }
}

/**
 * What an Anthropic Messages answer bills: its usage, and the uses its content shows of tools the usage does not
 * count, among those the request offered (its server tools; unknown: every tool shown counts).
 */
export const anthropicMessageCounts = (message: { usage?: AnthropicUsage | null; content?: unknown }, offered?: Readonly<Record<string, number>>): TokenCounts | null =>
  withUsesShown(anthropicUsage(message.usage), anthropicServerToolUses(message.content), offered)

/** The iterations a usage lists ([] when it lists none), or null when one lacks its counts. */
function iterations(listed: AnthropicUsage['iterations']): IterationUsage[] | null {
  if (listed == null) return []
  if (!Array.isArray(listed)) return null
  const passes = listed.filter((p): p is IterationUsage => p != null && typeof p === 'object' && reports(p.input_tokens) && reports(p.output_tokens))
  return passes.length === listed.length ? passes : null
}

function serverToolUses(used: AnthropicUsage['server_tool_use']): Record<string, number> {
  const uses: Record<string, number> = {}
  if (!used || typeof used !== 'object') return uses
  for (const [key, n] of Object.entries(used)) if (key.endsWith('_requests')) uses[key.slice(0, -'_requests'.length)] = count(n)
  return uses
}

export interface ResponsesUsage {
  input_tokens?: number | null
  /** `cache_write_tokens`: OpenRouter's prompt-cache writes, inside `input_tokens`. */
  input_tokens_details?: { cached_tokens?: number | null; audio_tokens?: number | null; cache_write_tokens?: number | null } | null
  output_tokens?: number | null
  output_tokens_details?: { audio_tokens?: number | null; image_tokens?: number | null; reasoning_tokens?: number | null } | null
  total_tokens?: number | null
}

/**
 * The Responses API counts cached (and audio) tokens inside `input_tokens`, and reasoning (and audio)
 * tokens inside `output_tokens`: each token once, at its own rate (a server that leaves reasoning out is
 * billed it all the same: `billedOutput`). OpenRouter's cache writes are read as on chat (`openAIUsage`).
 */
export const responsesUsage = (u: ResponsesUsage | undefined | null): TokenCounts | null => {
  if (!u || typeof u !== 'object' || !reports(u.input_tokens) || !reports(u.output_tokens) || statesUnusableCount(u, RESPONSES_COUNTS)) return null
  const cached = count(u.input_tokens_details?.cached_tokens)
  const writes = count(u.input_tokens_details?.cache_write_tokens)
  const prompt = Math.max(count(u.input_tokens), cached + writes)
  const output = billedOutput(count(u.output_tokens), prompt, u.total_tokens, count(u.output_tokens_details?.reasoning_tokens))
  const counts: TokenCounts = { promptTokens: prompt, completionTokens: output, cachedTokens: cached }
  if (writes > 0) counts.cacheWriteTokens = writes
  const audioIn = count(u.input_tokens_details?.audio_tokens)
  const audioOut = count(u.output_tokens_details?.audio_tokens)
  const imageOut = count(u.output_tokens_details?.image_tokens)
  if (audioIn > 0) counts.audioInputTokens = audioIn
  if (audioOut > 0) counts.audioOutputTokens = audioOut
  if (imageOut > 0) counts.imageOutputTokens = imageOut
  return counts
}

/**
 * What a Responses API answer bills: its usage, the hosted tools its `output` shows used (by the tools the
 * request offered: containers at the prices they named), what the image tool's model read (`tool_usage.image_gen`,
 * reported apart from the usage), and the tier that served it.
 */
export function responseCounts(response: { usage?: ResponsesUsage | null; output?: unknown; service_tier?: unknown; tool_usage?: unknown }, offered?: OfferedTools): TokenCounts | null {
  const counts = responsesUsage(response.usage)
  if (!counts) return null
  if (Array.isArray(response.output)) counts.serverToolUses = responsesServerToolUses(response.output, offered)
  const imageModel = reportedImageModelTokens(response.tool_usage)
  if (imageModel) counts.imageModelTokens = imageModel
  const tier = reportedTier(response.service_tier)
  if (tier !== undefined) counts.tier = tier
  return counts
}
