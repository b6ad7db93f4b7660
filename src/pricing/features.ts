/**
 * Features a provider bills beyond plain tokens (SPEC §5): what a request asks for, read from the request
 * in the provider's own format (after any translation: that is what the provider bills), whether the
 * price book can price it, and the bound on a server tool's uses. One place for every inference route:
 * chat and messages, natively or translated, and the Responses API through the same rules.
 */
import { isAudioPart, isMediaPart, partMayBeAudio } from '../budget/part-media'
import { badRequest, paymentRequired, threadRefused } from '../http/errors'
import { entries, positiveInt } from './body-values'
import { geoMultiplierName, isDefaultGeo, isStandardTier, longContextThreshold, namedMultiplier, NO_FEATURES, toolPrice, type Price, type RequestedFeatures } from './price'
import { routerFeatures, withWebResults } from './router-fields'
import { withFieldsLast } from '../translate/fields-last'
import { BOUNDED_IMAGE_MODELS, HIGH_FIDELITY_IMAGE_TOKENS, IMAGE_IMAGE_INPUT_RATE, IMAGE_TEXT_INPUT_RATE, imageModelRates, LOW_FIDELITY_IMAGE_TOKENS, type ImageModelInput } from './image-model-input'
import { withInlineToolDefinitions } from './anthropic-inline-tools'
import { betaFlagList } from '../providers/anthropic-beta'

export { NO_FEATURES, type RequestedFeatures }
export { formFallbackFields, refuseExtraBody, refuseRouterHeaders, refuseModelFallbacks, withOnlineModelResults } from './router-fields'

export interface ServerToolBounds {
  /** max_uses injected into a server tool that sets none. */
  defaultMaxUses: number
  /** Input held for each use of a tool whose result comes back as input; the max_content_tokens injected into a web fetch that sets none. */
  useInputTokens: number
  /**
   * Cap-output is on: the hold must be a hard bound (spend never passes the budget), so a billed tool that
   * nothing bounds (code execution takes no `max_uses`) is refused rather than held at the default.
   */
  hardBounds?: boolean
}

export const serverToolBounds = (config: { server_tool_default_max_uses: number; server_tool_use_input_tokens: number; cap_output_tokens: boolean }): ServerToolBounds => ({
  defaultMaxUses: config.server_tool_default_max_uses,
  useInputTokens: config.server_tool_use_input_tokens,
  hardBounds: config.cap_output_tokens,
})

/**
 * Anthropic server tools billed per use, by their versioned type (`web_search_20250305`): web search, and
 * code execution (container time, counted per execution; its tool takes no `max_uses`). Others cost tokens only.
 */
const ANTHROPIC_BILLED_TOOL = /^(web_search|code_execution)_\d{8}$/
const TAKES_MAX_USES = new Set(['web_search'])

/**
 * The server tool a `server_tool_use` block in Anthropic content is one use of, as the price book names
 * it (`web_search`: one search): code execution's bash and text-editor calls (`bash_code_execution`,
 * `text_editor_code_execution`) are executions of `code_execution`.
 */
export function anthropicServerToolOf(block: unknown): string | undefined {
  const { type, name } = (block ?? {}) as { type?: unknown; name?: unknown }
  if (type !== 'server_tool_use' || typeof name !== 'string') return undefined
  return name.endsWith('_code_execution') ? 'code_execution' : name
}

/**
 * Counts by tool name, names the provider chose: with no prototype, so that a tool named `constructor` or
 * `toString` starts at 0 rather than at an inherited function (which would make its fee NaN).
 */
export const toolCounts = (): Record<string, number> => Object.create(null)

/** Uses of each server tool shown in Anthropic content (an answer's `content`): one per `server_tool_use` block. */
export function anthropicServerToolUses(content: unknown): Record<string, number> {
  const uses = toolCounts()
  if (Array.isArray(content)) for (const block of content) {
    const tool = anthropicServerToolOf(block)
    if (tool !== undefined) uses[tool] = (uses[tool] ?? 0) + 1
  }
  return uses
}
/** Anthropic's web fetch: tokens only, but each page fetched comes back as input, bounded by `max_content_tokens`. */
const ANTHROPIC_WEB_FETCH = /^web_fetch_\d{8}$/
/**
 * Anthropic's web search and web fetch from `_20260209` on filter their results in code (dynamic filtering): the
 * model runs code execution over them, each run one more pass of the loop over the whole input, which `max_uses`
 * does not bound. Later versions are taken to filter too; the earlier ones (`_20250305`, `_20250910`) do not.
 */
export const filtersResultsInCode = (type: string): boolean => {
  const version = /^web_(?:search|fetch)_(\d{8})$/.exec(type)?.[1]
  return version !== undefined && version >= '20260209'
}
/**
 * Anthropic's tool search (`tool_search_tool_regex_…`, `tool_search_tool_bm25_…`): tokens only, its results the deferred
 * tools it loads, which the request carries; but each search is one more pass of the server tool loop over the whole
 * input, and the tool takes no `max_uses`.
 */
const ANTHROPIC_TOOL_SEARCH = /^tool_search_tool_[a-z0-9]+_\d{8}$/
/**
 * Anthropic's advisor tool (`advisor_20260301`): a sub-inference on the model it names, billed at that
 * model's rates (its `advisor_message` usage iterations). A request is priced at one model, so it is refused.
 */
const ANTHROPIC_ADVISOR = /^advisor_\d{8}$/

/**
 * The service tier a request asks for, as the price book names it: `speed: "fast"` (a router's fast mode: OpenRouter
 * serves Claude's so) is `fast`, and so is `service_tier: "fast"` towards a Claude model; towards any other, `fast` is
 * OpenAI's newer name for `priority`. Anthropic-compatible endpoints take OpenAI's `service_tier` as it is (OpenRouter's
 * serves `openai/gpt-5.6`), so Messages reads it too; its own `auto` and `standard_only` are the plain rates.
 */
function requestedTier(body: Record<string, unknown>, upstreamModel: string): string | null {
  if (body.speed === 'fast') return 'fast'
  const tier = body.service_tier
  if (typeof tier !== 'string' || isStandardTier(tier)) return null
  return tier === 'fast' && !isClaudeModel(upstreamModel) ? 'priority' : tier
}

/**
 * No `service_tier`, or `auto`: OpenAI serves the project's default tier, whatever it is. And OpenAI caches
 * prompts by itself, no marker asked: GPT-5.6 and later bill those writes (`cache_write_tokens`) at 1.25× input.
 */
const openAIDefaults = (tier: unknown, mayBeAudio: boolean) => ({ tier: tier == null || tier === 'auto', geo: false, cacheWrites: true, audioInput: mayBeAudio })

const CLAUDE_MODEL = /(^|[^a-z0-9])claude([^a-z0-9]|$)/i

/**
 * Whether the model an Anthropic-type provider is sent is Claude. An Anthropic-compatible endpoint may serve others
 * (OpenRouter's: GPT, Grok, Gemini), which keep their own cache rules and context windows.
 */
export const isClaudeModel = (upstreamModel: string): boolean => CLAUDE_MODEL.test(upstreamModel)

/**
 * Whether the model an Anthropic-type provider is sent may write its prompt cache unasked, and bill the writes. Claude
 * writes only what `cache_control` marks; an Anthropic-compatible endpoint that serves other models (OpenRouter's
 * serves OpenAI's GPT-5.6, whose cache OpenAI writes by itself and bills at 1.25× input) reports theirs all the same,
 * as `cache_creation_input_tokens`. Every route to an Anthropic-type provider, native or translated, decides it here.
 */
export const writesCacheUnasked = (upstreamModel: string): boolean => !isClaudeModel(upstreamModel)

/**
 * The `service_tier` a chat or Responses request translated to an Anthropic-type provider sends on: an
 * Anthropic-compatible router serving a model other than Claude takes OpenAI's tier as it is, as on Messages (asked
 * none, it serves the project's default); towards Claude, `service_tier` is Anthropic's capacity tier (`auto`,
 * `standard_only`), not OpenAI's, and nothing is sent. Unknown model: nothing either.
 */
export const tierSentOn = (serviceTier: unknown, upstreamModel: string | undefined): string | undefined =>
  typeof serviceTier === 'string' && upstreamModel !== undefined && !isClaudeModel(upstreamModel) ? serviceTier : undefined

/**
 * The tier a request to an Anthropic-type provider asks for (`requestedTier`), and whether it leaves the tier to the
 * provider: a model other than Claude is served at its project's default tier (OpenRouter's `openai/gpt-5.6`) unless
 * the request names one other than `auto`, billed as reported; Claude's own tiers are only ever asked for. Messages
 * and the translations to it read it here, from the body as the provider receives it.
 */
export function anthropicTier(body: Record<string, unknown>, upstreamModel: string): { tier: string | null; leftToProvider: boolean } {
  return {
    tier: requestedTier(body, upstreamModel),
    leftToProvider: !isClaudeModel(upstreamModel) && (body.service_tier == null || body.service_tier === 'auto'),
  }
}

/**
 * Models that search on every request, billed per search: OpenAI's `…-search-preview` and `…-search-api`, and
 * Perplexity's `sonar-deep-research` (`perplexity/…` through OpenRouter), which bills each of its searches. Perplexity's
 * other Sonar models search too, but their searches are in the per-request fee (`per_request`), not billed apart.
 */
const SEARCH_MODEL = /(^|[-_./])(search|deep-research)([-_.]|$)/

/**
 * Models whose billed work nothing in a request bounds: Perplexity's deep research runs as many searches as it
 * decides (74 in one answer) and reasons outside its output count. No hold can cover them, so with hard bounds
 * (cap-output on) they are not served.
 */
const UNBOUNDED_MODEL = /(^|[-_./])deep-research([-_.]|$)/

/**
 * A search model (`SEARCH_MODEL`) served by an Anthropic-type provider (OpenRouter's Anthropic endpoint serves OpenAI's
 * `…-search-preview`) searches on every request, as on chat (`openAIChatFeatures`); but an Anthropic usage counts no
 * such search, and one it does not name reads as none. So it is held and billed as one search a request, as no usage
 * counts it (`unreportedToolUses`: once, when the usage counts it too), on top of any web search the request offers
 * as a tool or plugin: the usage counts the tool's uses, never the model's own search, which it runs anyway. Deep
 * research, which runs many searches, is not one a request: it is held for one, so that it needs a search price as
 * on chat, and billed the searches its usage counts. Messages and the translations to it read it here.
 */
export function withModelSearch(features: RequestedFeatures, upstreamModel: string): RequestedFeatures {
  if (!SEARCH_MODEL.test(upstreamModel)) return features
  const serverTools = { ...features.serverTools, web_search: (features.serverTools.web_search ?? 0) + 1 }
  if (UNBOUNDED_MODEL.test(upstreamModel)) return { ...features, serverTools }
  const unreported = features.unreportedToolUses
  return { ...features, serverTools, unreportedToolUses: { ...unreported, web_search: (unreported?.web_search ?? 0) + 1 } }
}

/** Why a request to `upstreamModel` cannot be held for under hard bounds, or null when it can. */
function unboundedModel(upstreamModel: string): string | null {
  return UNBOUNDED_MODEL.test(upstreamModel)
    ? `${upstreamModel} is not served with cap-output on: it runs as many searches as it decides and reasons outside its output count, so nothing in the request bounds its cost`
    : null
}

/**
 * Groq's Compound systems (`groq/compound`, `groq/compound-mini`, the older `compound-beta`, `compound-beta-mini`):
 * agents that choose their own tools, up to 10 calls a request (compound-mini: one), among web search (basic
 * and advanced, at two prices), website visits, code execution and browser automation, the last two billed by
 * the hour of sandbox time, and answer with several models' tokens at their own rates. `compound_custom` can
 * narrow the tools, not their time: no price row could hold or settle one, whatever cap-output says.
 */
const AGENT_SYSTEM = /(^|\/)compound(-|$)/

/** Why a request to `upstreamModel` cannot be priced at all, or null when it can. */
function unpriceableModel(upstreamModel: string): string | null {
  return AGENT_SYSTEM.test(upstreamModel)
    ? `${upstreamModel} is not served: it runs tools of its own choosing, code execution and browser automation billed by the hour, which nothing in the request bounds and no usage counts, so its cost could not be held for or billed`
    : null
}

/**
 * Why no request to `upstreamModel` is served whatever its body, or null: admission refuses it, and the model
 * list and `models.retrieve` leave it out (they list what the key may call).
 */
export const unservedModel = (upstreamModel: string, capOutput: boolean): string | null =>
  unpriceableModel(upstreamModel) ?? (capOutput ? unboundedModel(upstreamModel) : null)

/** OpenAI's chat tools, both run by the client: every other type is one the provider runs itself. */
const CHAT_CLIENT_TOOLS = new Set(['function', 'custom'])

/** A provider's on/off switch as the provider may read it: anything but absent or `false` may switch it on. */
const switchedOn = (value: unknown): boolean => value != null && value !== false

/**
 * Chat tools are a closed world: a type other than `function` and `custom` is a tool the provider runs itself
 * (Groq's `browser_search` and `code_interpreter`, Kimi's `builtin_function` `$web_search`), billed per use on
 * top of tokens, and a chat usage does not count its uses, so no price could settle them: refused. So is
 * DashScope's (Qwen's) `enable_code_interpreter`, the same tool asked for by a switch rather than in `tools`.
 */
function refuseProviderChatTools(body: Record<string, unknown>): void {
  if (switchedOn(body.enable_code_interpreter))
    throw badRequest(
      'Invalid body: enable_code_interpreter: the provider\'s code interpreter is not served: the provider runs it itself and bills it beyond tokens, which the usage does not count, so it could not be held for or billed.',
      'feature_unsupported',
    )
  for (const { field, tool } of chatToolsNamed(body)) {
    const type: unknown = tool?.type
    if (!CHAT_CLIENT_TOOLS.has(type as string))
      throw badRequest(
        `Invalid body: ${field}: a tool of type ${JSON.stringify(String(type).slice(0, 40))} is not served: the provider runs it itself and bills it beyond tokens, which the usage does not count, so it could not be held for or billed. Only "function" and "custom" tools are.`,
        'feature_unsupported',
      )
  }
}

/**
 * A chat request's tools, and those its `tool_choice` names by type (a router may add a tool a choice names to
 * `tools`): the choice itself, or the tools an `allowed_tools` choice lists.
 */
function chatToolsNamed(body: Record<string, unknown>): Array<{ field: string; tool: { type?: unknown } | null }> {
  const named = Array.isArray(body.tools) ? body.tools.map((tool) => ({ field: 'tools', tool })) : []
  const choice = body.tool_choice as { type?: unknown; allowed_tools?: { tools?: unknown } } | null | undefined
  if (typeof choice !== 'object' || choice === null) return named
  if (choice.type !== 'allowed_tools') return [...named, { field: 'tool_choice', tool: choice }]
  const allowed = choice.allowed_tools?.tools
  return Array.isArray(allowed) ? [...named, ...allowed.map((tool) => ({ field: 'tool_choice.allowed_tools.tools', tool }))] : named
}

/** The field of `at` that names a Gemini context cache (`cached_content`, or its camelCase), or undefined. */
const cacheField = (at: unknown): string | undefined => {
  if (at === null || typeof at !== 'object') return undefined
  const o = at as { cached_content?: unknown; cachedContent?: unknown }
  return o.cached_content != null ? 'cached_content' : o.cachedContent != null ? 'cachedContent' : undefined
}

/**
 * Gemini's explicit context cache named on its OpenAI-compatible endpoint, in any spelling a client sends it
 * (`extra_body: {google: {cached_content}}` as Gemini documents it, `google.cached_content`, or at the top):
 * its contents are input Gemini bills, in `prompt_tokens`, that the body does not show, so the request cannot
 * be sized and is refused, as a stored context the gateway never recorded is.
 */
function refuseUnseenCache(body: Record<string, unknown>): void {
  const extra = body.extra_body as Record<string, unknown> | null | undefined
  const field = cacheField(body) ?? prefixed('google.', cacheField(body.google)) ?? prefixed('extra_body.', cacheField(extra))
    ?? prefixed('extra_body.google.', cacheField(extra?.google))
  if (field)
    throw badRequest(
      `Invalid body: ${field}: a context cache the provider holds adds its contents to the input, whose size is not known to the gateway, so its cost cannot be held: send the cached contents in the request.`,
      'context_size_unknown',
    )
}
const prefixed = (prefix: string, field: string | undefined) => (field === undefined ? undefined : prefix + field)

/**
 * Azure OpenAI's "On Your Data" (`data_sources`: an Azure AI Search index, Cosmos DB, Elasticsearch, Pinecone…): Azure
 * searches the source and puts the retrieved documents, its own system message and its intent prompt into the
 * prompt, billed as `prompt_tokens` that the body does not show (5 chunks of up to 1,024 tokens by default, held as
 * the field's few hundred bytes), so the request cannot be sized and is refused, as a context cache is.
 */
function refuseRetrievedData(body: Record<string, unknown>): void {
  if (body.data_sources != null)
    throw badRequest(
      'Invalid body: data_sources: data the provider retrieves for the request (Azure On Your Data) is added to the input, whose size is not known to the gateway, so its cost cannot be held: retrieve the documents yourself and send them in the messages.',
      'context_size_unknown',
    )
}

/**
 * A server's own fields for how much it generates. llama.cpp's `llama-server` hands every field it does not know
 * to its sampler, which reads `n_predict` before `max_completion_tokens` and `max_tokens` (`-1`: until the context
 * is full), and `n_cmpl` before `n`, on chat and on Responses alike. The hold covers the max and the choices the
 * gateway reads (and, with cap-output on, sends), so either field would have the server generate past what was
 * held. (Ollama, vLLM, SGLang and TGI read only the OpenAI fields there: Ollama's `num_predict` and TGI's
 * `max_new_tokens` belong to their native APIs.) Each is named with what the route takes instead.
 */
type ServerOutputFields = Record<'n_predict' | 'n_cmpl', string>
const CHAT_INSTEAD: ServerOutputFields = { n_predict: 'max_tokens', n_cmpl: 'n' }
const RESPONSES_INSTEAD: ServerOutputFields = { n_predict: 'max_output_tokens', n_cmpl: 'one request per answer' }

function refuseServerOutputFields(body: Record<string, unknown>, instead: ServerOutputFields): void {
  for (const [field, use] of Object.entries(instead))
    if (body[field] != null)
      throw badRequest(
        `Invalid body: ${field}: a server's own output field is not served: a server that reads it (llama.cpp) may generate past what the hold covers. Send ${use} instead.`,
        'feature_unsupported',
      )
}

/**
 * Chat completions' output fields on a Responses request, each with what the Responses API takes instead. OpenAI's
 * Responses API has none of them (it refuses a parameter it does not know), but llama.cpp's copies the whole body
 * into the chat request it runs, turning only `max_output_tokens` into `max_tokens`: its sampler then reads
 * `max_completion_tokens` before that `max_tokens`, and `n` for how many answers it generates, past the one answer
 * of `max_output_tokens` the hold covers. `n: 1` asks for no more than that.
 */
const CHAT_OUTPUT_FIELDS_INSTEAD = { max_completion_tokens: 'max_output_tokens', max_tokens: 'max_output_tokens', n: 'one request per answer' }

/**
 * The output fields of other APIs on a Responses request: a server's own (`refuseServerOutputFields`) and chat
 * completions' (`CHAT_OUTPUT_FIELDS_INSTEAD`), refused before any hold. Refused on every route a Responses request
 * takes, native or translated (where the translation would drop them): a body is answered alike whichever provider
 * serves its model, as OpenAI answers it.
 */
export function refuseNonResponsesOutputFields(body: Record<string, unknown>): void {
  refuseServerOutputFields(body, RESPONSES_INSTEAD)
  for (const [field, use] of Object.entries(CHAT_OUTPUT_FIELDS_INSTEAD)) {
    const value = body[field]
    if (value == null || (field === 'n' && value === 1)) continue
    throw badRequest(
      `Invalid body: ${field}: a chat completions output field is not served on the Responses API: a server that reads it there (llama.cpp) may generate past what the hold covers. Send ${use} instead.`,
      'feature_unsupported',
    )
  }
}

/**
 * A chat template sent with the request: vLLM's `chat_template`, or one in `chat_template_kwargs`, which vLLM reads
 * as the same (and, without `--trust-request-chat-template`, refuses alike). The server renders the messages with it,
 * and bills the rendering as the prompt: a template of a few dozen bytes repeats them without bound
 * (`{% for i in range(4000) %}{{ messages[0].content }}{% endfor %}`), so the request's bytes no longer bound its
 * input and no hold covers it. The other `chat_template_kwargs` are served: they only set variables of the
 * server's own template (`enable_thinking`), which its operator chose and which renders each a fixed number of
 * times, and their bytes count in the estimate as any field's do.
 */
function refuseRequestChatTemplate(body: Record<string, unknown>): void {
  const kwargs = body.chat_template_kwargs as { chat_template?: unknown } | null | undefined
  const field = body.chat_template != null ? 'chat_template' : typeof kwargs === 'object' && kwargs?.chat_template != null ? 'chat_template_kwargs.chat_template' : undefined
  if (field)
    throw badRequest(
      `Invalid body: ${field}: a chat template sent with the request is not served: the server renders the prompt with it, which it may repeat without bound, so the input it bills could not be held for. The server's own template is used without it.`,
      'feature_unsupported',
    )
}

/**
 * vLLM's per-request settings for how it turns media into prompt tokens: `mm_processor_kwargs`, handed to the model's
 * processor (Qwen2-VL's `min_pixels`, vllm-project/vllm#9612), and `media_io_kwargs`, to the loaders (a video's
 * `num_frames`). Like a request's chat template, they make the server bill more than the request's bytes show: one
 * 70-byte image resized to `min_pixels: 50176000` bills 64,000 prompt tokens, past any media bound the hold counts it
 * at (the operator's `media_part_tokens` is the bound the server is set to). Without them the server's own settings
 * apply.
 */
function refuseRequestMediaProcessing(body: Record<string, unknown>): void {
  const field = body.mm_processor_kwargs != null ? 'mm_processor_kwargs' : body.media_io_kwargs != null ? 'media_io_kwargs' : undefined
  if (field)
    throw badRequest(
      `Invalid body: ${field}: a server's media processing set by the request is not served: it may turn one image or video into any number of prompt tokens, which no hold covers. The server's own settings are used without it.`,
      'feature_unsupported',
    )
}

/**
 * vLLM's embeddings endpoint takes a chat-style request too (`EmbeddingChatRequest`): `messages` rendered with the
 * model's chat template, and the chat route's `chat_template` and media settings. The estimate counts `input`;
 * `messages` it would count by their bytes alone (an image part as its URL's, the template's own tokens not at all),
 * so a chat-style request is refused, and a template or media processing sent with the request as on chat.
 */
export function refuseEmbeddingsChatRequest(body: Record<string, unknown>): void {
  if (body.messages != null)
    throw badRequest(
      'Invalid body: messages: a chat-style embeddings request is not served: the server renders the messages with its chat template and reads their media, which the estimate does not count, so the input it bills could not be held for. Send the text as input.',
      'feature_unsupported',
    )
  refuseRequestChatTemplate(body)
  refuseRequestMediaProcessing(body)
}

/** DashScope's search strategies (`search_options.search_strategy`) that run one billed search per request. */
const DASHSCOPE_ONE_SEARCH_STRATEGIES = new Set<unknown>([undefined, null, 'turbo', 'agent'])

/**
 * DashScope's `enable_search` is held and billed as one search, which its strategy must keep it to: `turbo` (the
 * default) and `agent` (Qwen's guide: one search call billed per invocation). `agent_max` searches as often as the
 * model decides and reads whole pages with the web extractor, each call billed; `max` queries several search
 * engines. The chat answer counts none of these calls, so no price could settle them, with cap-output on or off:
 * refused, and so is a strategy not known here.
 */
function refuseUncountedDashScopeSearch(body: Record<string, unknown>): void {
  if (!switchedOn(body.enable_search)) return
  const strategy = (body.search_options as { search_strategy?: unknown } | null | undefined)?.search_strategy
  if (!DASHSCOPE_ONE_SEARCH_STRATEGIES.has(strategy))
    throw badRequest(
      'Invalid body: search_options.search_strategy: a strategy other than "agent" or "turbo" is not served: "agent_max" and "max" run more billed search and page-reading calls than the one search enable_search is held and billed as, and the answer does not count them.',
      'feature_unsupported',
    )
}

/**
 * An OpenAI chat request's billed features: web search (`web_search_options`, DashScope's `enable_search`, or a
 * search model, which searches on every request: `SEARCH_MODEL`, one use each unless the usage counts them, held on
 * Claude behind a router at the searches it may run, `routerClaudeSearches`; and OpenRouter's web plugin,
 * `routerFeatures`), a service tier (`requestedTier`: a router's `speed: "fast"` too), audio in (`input_audio` or vLLM's `audio_url` parts, or an earlier audio answer
 * named by id, `{role: 'assistant', audio: {id}}`, which the provider reads again as audio input) and out (`modalities` with audio, or `audio`), image out (`modalities` with image: `outputModalities`), xAI's Live Search (`liveSearchSources`), and cache writes (`cache_control` anywhere, which
 * OpenAI ignores but OpenRouter and LiteLLM pass on to Claude, which bills them: `cacheLifetime`). A tool the
 * provider runs itself is refused (`refuseProviderChatTools`), and so are a context cache the provider holds
 * (`refuseUnseenCache`), data it retrieves for the request (`refuseRetrievedData`), a server's own output field (`refuseServerOutputFields`), a chat template or media
 * processing sent with the request (`refuseRequestChatTemplate`, `refuseRequestMediaProcessing`), and a DashScope
 * search strategy that runs uncounted calls (`refuseUncountedDashScopeSearch`).
 */
export function openAIChatFeatures(body: Record<string, unknown>, upstreamModel: string): RequestedFeatures {
  refuseProviderChatTools(body)
  refuseServerOutputFields(body, CHAT_INSTEAD)
  refuseRequestChatTemplate(body)
  refuseRequestMediaProcessing(body)
  refuseUnseenCache(body)
  refuseRetrievedData(body)
  refuseUncountedDashScopeSearch(body)
  const { webResults } = routerFeatures(body, upstreamModel)
  const searches = body.web_search_options != null || switchedOn(body.enable_search) || SEARCH_MODEL.test(upstreamModel)
  const claudeSearches = body.web_search_options != null && isClaudeModel(upstreamModel) ? routerClaudeSearches(body.web_search_options) : 0
  const sources = liveSearchSources(body.search_parameters)
  const modalities = outputModalities(body.modalities)
  return withWebResults({
    serverTools: { ...(searches ? { web_search: Math.max(1, claudeSearches) } : {}), ...(sources > 0 ? { live_search: sources } : {}) },
    ...(claudeSearches > 1 ? { usesBilledOnlyIfCounted: { web_search: claudeSearches - 1 } } : {}),
    tier: requestedTier(body, upstreamModel),
    audioInput: Array.isArray(body.messages) && body.messages.some((m) => hasPart(m?.content, isAudioPart) || m?.audio != null),
    audioOutput: body.audio != null || modalities.has('audio'),
    imageOutput: modalities.has('image'),
    cacheWrites: cacheLifetime(body),
    longContext: false,
    toolResultInput: NO_FEATURES.toolResultInput,
    compaction: false,
    toolLoopUses: claudeSearches,
    // Each search's results are read again by the passes after it, as in Anthropic's own loop (heldPromptTokens).
    toolLoopResults: claudeSearches > 0 ? { uses: claudeSearches, tokens: 0, largestUse: 0 } : NO_FEATURES.toolLoopResults,
    inferenceGeo: null,
    providerDefaults: openAIDefaults(body.service_tier, Array.isArray(body.messages) && body.messages.some((m) => hasPart(m?.content, partMayBeAudio))),
  }, webResults)
}

/** Output modalities whose tokens a price row can price: text at the output rate, audio and images at their own. */
const KNOWN_OUTPUT_MODALITIES = new Set<unknown>(['text', 'audio', 'image'])

/**
 * The output modalities a request asks for (`modalities`: OpenAI's audio, OpenRouter's image generation). A modality
 * not known here may be billed beyond the text rates at a rate no price row has (OpenRouter lists video, speech…),
 * so it is refused rather than settled as text.
 */
function outputModalities(modalities: unknown): ReadonlySet<unknown> {
  if (modalities == null) return new Set()
  if (!Array.isArray(modalities)) throw badRequest('Invalid body: modalities: must be an array of output modalities such as ["text", "image"]')
  const unknown = modalities.find((m) => !KNOWN_OUTPUT_MODALITIES.has(m))
  if (unknown !== undefined)
    throw badRequest(
      `Invalid body: modalities: the output modality ${JSON.stringify(unknown)?.slice(0, 40)} is not served: only "text", "audio" and "image" have rates the price book can set.`,
      'feature_unsupported',
    )
  return new Set(modalities)
}

/** The `max_uses` LiteLLM gives Anthropic's web search for each `search_context_size`. */
const LITELLM_SEARCHES_BY_CONTEXT_SIZE: Readonly<Record<string, number>> = { low: 1, medium: 5, high: 10 }

/**
 * The searches chat's `web_search_options` may run on Claude behind an OpenAI-compatible router: LiteLLM sends it
 * as Anthropic's web search, run in Anthropic's server tool loop (each search one more pass over the input) with the
 * `max_uses` its `search_context_size` maps to, and counts them in its usage (`server_tool_use`). Without a size it
 * sets no bound: held at the most it maps (10), and with cap-output on the searches past those go unbilled.
 */
function routerClaudeSearches(options: unknown): number {
  const size = options !== null && typeof options === 'object' ? (options as { search_context_size?: unknown }).search_context_size : undefined
  return typeof size === 'string' && Object.hasOwn(LITELLM_SEARCHES_BY_CONTEXT_SIZE, size) ? LITELLM_SEARCHES_BY_CONTEXT_SIZE[size]! : 10
}

/**
 * The sources xAI's Live Search may use for a chat request, the uses it is held for: `search_parameters` with a
 * mode other than `off` (`auto` may search, `on` does) lets it use up to `max_search_results` (xAI's default 20),
 * each billed ($25 per 1,000) as `server_tools.live_search`. xAI has since retired it (a 410 for such a request),
 * but a request for it is still one for a feature billed beyond tokens: refused unpriced, never served free.
 */
function liveSearchSources(params: unknown): number {
  if (params == null || typeof params !== 'object') return 0
  const { mode, max_search_results: max } = params as { mode?: unknown; max_search_results?: unknown }
  if (mode === 'off') return 0
  return positiveInt(max) ? max : XAI_DEFAULT_SEARCH_RESULTS
}
const XAI_DEFAULT_SEARCH_RESULTS = 20

const hasPart = (content: unknown, kind: (part: unknown) => boolean) => Array.isArray(content) && content.some(kind)

/** Parts of a Responses request's input (a message's content, a tool's output: `function_call_output`…) of a kind. */
const responsesHasPart = (input: unknown, kind: (part: unknown) => boolean): boolean =>
  Array.isArray(input) && input.some((item) => hasPart(item?.content, kind) || hasPart(item?.output, kind))

/** Audio a Responses request sends: an audio part in a message's content or in a tool's output. */
export const responsesAudioInput = (input: unknown): boolean => responsesHasPart(input, isAudioPart)

/**
 * OpenAI Responses API hosted tools billed beyond tokens, by their type, each with the price book's name
 * for it: web search (`web_search`, `web_search_preview`, dated versions) and file search per call, image
 * generation per image, code interpreter per container (and a shell in a hosted container: `responsesToolPrice`);
 * and xAI's X Search (`x_search`) per call, on xAI's Responses API.
 */
const RESPONSES_BILLED_TOOL = /^(web_search)(?:_preview)?(?:_\d{4}_\d{2}_\d{2})?$|^(file_search|code_interpreter|image_generation|x_search)$/

/**
 * Responses tool types that cost tokens only (those of OpenAI's `Tool` union that are not billed): the client
 * runs them, or they search its own tools. A `shell` is one unless its environment is a hosted container, and
 * `mcp` is held for what its server answers. Tools are a closed world: any other type is refused.
 */
const RESPONSES_FREE_TOOLS = new Set<unknown>([
  'function', 'custom', 'computer', 'computer_use', 'computer_use_preview', 'local_shell', 'shell', 'apply_patch', 'namespace', 'tool_search', 'programmatic_tool_calling',
])

export const responsesBilledTool = (type: unknown): string | undefined => {
  const match = typeof type === 'string' ? RESPONSES_BILLED_TOOL.exec(type) : null
  return match ? (match[1] ?? match[2]) : undefined
}

/**
 * The price book's name for an OpenAI container of this `memory_limit`: OpenAI bills a container by its
 * memory (4g, 16g, 64g at 4×, 16×, 64× the default 1g), so each size has its own price,
 * `code_interpreter_<limit>` (`code_interpreter_64g`), and the default 1g is `code_interpreter`.
 */
function containerPrice(memoryLimit: unknown): string {
  if (memoryLimit == null || memoryLimit === '1g') return 'code_interpreter'
  if (typeof memoryLimit !== 'string' || !/^[1-9][0-9]{0,3}g$/.test(memoryLimit))
    throw badRequest('Invalid body: tools: memory_limit: must be a container size such as "4g"')
  return `code_interpreter_${memoryLimit}`
}

type ResponsesTool = { type?: unknown; container?: unknown; environment?: unknown } | null

/**
 * The container price of a Responses tool that runs in an OpenAI container, or undefined: code interpreter
 * (`container: {type: 'auto', memory_limit}`, or a container's id), and a `shell` whose `environment` is a
 * hosted container (`container_auto` with its `memory_limit`, or a `container_reference`), billed as code
 * interpreter's containers are. A container named by id was sized when it was made: held and billed as the
 * default. A local shell runs on the client and costs tokens only.
 */
function containerToolPrice(tool: ResponsesTool): string | undefined {
  if (tool?.type === 'code_interpreter') return containerPrice((tool.container as { memory_limit?: unknown } | null)?.memory_limit)
  if (tool?.type !== 'shell') return undefined
  const environment = tool.environment as { type?: unknown; memory_limit?: unknown } | null | undefined
  if (environment?.type === 'container_auto') return containerPrice(environment.memory_limit)
  return environment?.type === 'container_reference' ? 'code_interpreter' : undefined
}

/**
 * What one `file_search` call may bring back as input: `max_num_results` chunks (OpenAI's default 20, at most 50)
 * of up to 4,096 tokens each, the largest chunk a vector store takes (`max_chunk_size_tokens`; 800 by default,
 * but set when files are added, so not visible here).
 */
const FILE_SEARCH_DEFAULT_RESULTS = 20
const FILE_SEARCH_MAX_CHUNK_TOKENS = 4096

/** The price book's name for what a Responses tool bills beyond tokens, or undefined. */
const responsesToolPrice = (tool: ResponsesTool): string | undefined => containerToolPrice(tool) ?? responsesBilledTool(tool?.type)

/** Input items that make tools available to the model from where they stand. */
const TOOL_OFFERING_ITEMS = new Set<unknown>(['additional_tools', 'tool_search_output'])

type OfferedTool = { field: string; tool: (ResponsesTool & { max_num_results?: unknown }) | null }

/** `tool_choice` types that name a tool by name, from `tools`, rather than a tool type of its own. */
const NAMED_TOOL_CHOICES = new Set<unknown>(['function', 'custom', 'mcp'])

/**
 * The tools a Responses `tool_choice` names by type — a hosted tool (`{type: "image_generation"}`), or those an
 * `allowed_tools` choice lists — as tools offered: a router in front of OpenAI (CLIProxyAPI's Codex executor) adds
 * the tool a choice names to `tools` when it is not there, so the tool is priced, held and refused as one in `tools`.
 */
function toolChoiceTools(choice: unknown): OfferedTool[] {
  const { type, tools } = (choice ?? {}) as { type?: unknown; tools?: unknown }
  if (type === 'allowed_tools')
    return Array.isArray(tools) ? tools.filter((tool) => !NAMED_TOOL_CHOICES.has(tool?.type)).map((tool) => ({ field: 'tool_choice.tools', tool })) : []
  return typeof choice === 'object' && choice !== null && !NAMED_TOOL_CHOICES.has(type) ? [{ field: 'tool_choice', tool: choice as ResponsesTool }] : []
}

/**
 * Every tool a Responses request offers, each with the field it is in: its `tools`, the hosted tools its
 * `tool_choice` names (`toolChoiceTools`), and those its input items make available — an `additional_tools` item's,
 * and a `tool_search_output` item's (the tools a tool search loaded) — which the model may call as any in `tools`.
 */
export function responsesRequestTools(body: { tools?: unknown; input?: unknown; tool_choice?: unknown }): OfferedTool[] {
  const offered: OfferedTool[] = Array.isArray(body.tools) ? body.tools.map((tool) => ({ field: 'tools', tool })) : []
  if (Array.isArray(body.input))
    body.input.forEach((item, i) => {
      if (TOOL_OFFERING_ITEMS.has(item?.type) && Array.isArray(item.tools))
        for (const tool of item.tools) offered.push({ field: `input[${i}].tools`, tool })
    })
  // Only a type not offered already: a router adds the tool only then, and the one offered carries its settings (a
  // `file_search` choice beside a tool of 2 results was held again at the default 20, a `code_interpreter` choice
  // beside a 4g container held a second container).
  const types = new Set(offered.map(({ tool }) => tool?.type))
  offered.push(...toolChoiceTools(body.tool_choice).filter(({ tool }) => !types.has(tool?.type)))
  return offered
}

/** Tools each turn sends again (its `tools`, its `tool_choice`), as against those an input item keeps. */
const sentEachTurn = (field: string): boolean => field === 'tools' || field.startsWith('tool_choice')

/** A tool the provider bills beyond tokens, or a remote MCP server, whose answers are input. */
const costsBeyondTokens = (tool: ResponsesTool): boolean => responsesToolPrice(tool) !== undefined || tool?.type === 'mcp'

/**
 * A billed tool or an MCP server offered in an input item stays in the context the provider keeps with the
 * response (and adds to its conversation): a later turn continuing it may call the tool with nothing in its own
 * request to price, bound or hold it. So it is served only when nothing is kept: `store: false` and no
 * conversation; otherwise it belongs in `tools`, which each turn sends again.
 */
function refuseKeptItemTools(body: Record<string, unknown>, offered: readonly OfferedTool[]): void {
  if (body.store === false && body.conversation == null) return
  const kept = offered.find(({ field, tool }) => !sentEachTurn(field) && costsBeyondTokens(tool))
  if (kept)
    throw badRequest(
      `Invalid body: ${kept.field}: a ${JSON.stringify(String(kept.tool?.type).slice(0, 40))} tool offered in an input item is served only with store: false and no conversation: the provider keeps the item, and a later turn could call the tool with nothing in its request to price or bound it. Offer it in tools instead.`,
      'feature_unsupported',
    )
}

/**
 * Settings of the `image_generation` tool that buy more than the one rendered image per call item its price
 * (`server_tools.image_generation`) covers: an animated `gif` of `frame_count` frames (9 by default, up to 16); an
 * `svg` written by an author model (`svg.model`, or the request's own, at any reasoning effort) whose tokens the
 * answer reports on the call item (`svg_usage`), apart from its usage; and `partial_images`, each rendered and billed
 * as image output tokens the answer reports only in `tool_usage.image_gen`. No price settles any of them: refused,
 * as the Anthropic advisor's pass on another model is.
 */
function refuseUnpricedImageSettings(field: string, tool: ResponsesTool): void {
  if (tool?.type !== 'image_generation') return
  const { output_format: format, frame_count: frames, svg, partial_images: partials } = tool as Record<string, unknown>
  const setting = format === 'gif' || frames != null ? 'an animated gif (output_format "gif", frame_count)'
    : format === 'svg' || svg != null ? 'an svg written by an author model (output_format "svg")'
    : partials != null && partials !== 0 ? 'partial_images'
    : undefined
  if (setting)
    throw badRequest(
      `Invalid body: ${field}: image_generation with ${setting} is not served: the provider bills it beyond the one image per call that server_tools.image_generation prices, so it could not be held for or billed. Ask for a png, jpeg or webp with no partial images.`,
      'feature_unsupported',
    )
}

/** Parts the image model reads as one image each: an `input_image`, a `computer_call_output`'s screenshot. */
const IMAGE_PART_TYPES = new Set<unknown>(['input_image', 'computer_screenshot', 'image_url', 'image'])

/**
 * The images in a Responses input the image model may read, and where the first is: media parts as the estimate
 * counts them (`isMediaPart`), in a message's content, a tool's output (a list of parts or one on its own) or a code
 * interpreter's outputs; and `image_generation_call` items (earlier images, sent back to edit them). `unbounded`: the
 * first media part that is not one image (a file: a PDF's pages, any number of images).
 */
function inputImages(input: unknown): { images: number; first?: string; unbounded?: string } {
  const found: { images: number; first?: string; unbounded?: string } = { images: 0 }
  if (!Array.isArray(input)) return found
  const note = (part: unknown, at: string): void => {
    if (!isMediaPart(part)) return
    if (!IMAGE_PART_TYPES.has((part as { type?: unknown }).type)) found.unbounded ??= at
    found.images++
    found.first ??= at
  }
  for (const [i, item] of input.entries()) {
    if (item?.type === 'image_generation_call') note({ type: 'image' }, `input[${i}]`)
    for (const field of ['content', 'output', 'outputs'] as const) {
      const value: unknown = item?.[field]
      if (Array.isArray(value)) value.forEach((part, j) => note(part, `input[${i}].${field}[${j}]`))
      else note(value, `input[${i}].${field}`)
    }
  }
  return found
}

/**
 * What the `image_generation` tool's image model may read, to hold and bill at the row's image model rates
 * (src/pricing/image-model-input.ts): reference images — the input's images and earlier generated ones
 * (`inputImages`), a mask (`input_image_mask`), each at the most one costs at the tool's `input_fidelity` — and
 * text, in each of `calls` calls. What has no bound is refused: a file beside the tool (a PDF's pages are images
 * without number), a tool beside it that makes images in the response (`refuseImageMakerBeside`), or images read by an image model other than GPT Image 1 and 1 mini (the tool's default), whose
 * cost per image is not documented. Whether the row prices that input is judged once the price is known
 * (`refuseUnpricedImageModelInput`).
 */
function imageModelInputOf(input: unknown, offered: readonly OfferedTool[], calls: number): ImageModelInput | undefined {
  const imageTools = offered.filter(({ tool }) => tool?.type === 'image_generation')
  if (imageTools.length === 0) return undefined
  const read = inputImages(input)
  if (read.unbounded)
    throw badRequest(
      `Invalid body: ${read.unbounded}: a file is not served beside the image_generation tool (${imageTools[0]!.field}): the image model may read it, billed as image input tokens, and how many images a file holds is not bounded, so they could not be held for. Send the file without the tool, or images instead.`,
      'feature_unsupported',
    )
  refuseImageMakerBeside(imageTools[0]!.field, offered)
  let reads = read.first ?? null
  let masks = 0
  let high = false
  for (const { field, tool } of imageTools) {
    const { action, input_fidelity: fidelity, input_image_mask: mask, model } = tool as Record<string, unknown>
    if (mask != null) masks = 1
    high ||= fidelity === 'high'
    reads ??= action === 'edit' ? `${field}: action "edit"` : fidelity === 'high' ? `${field}: input_fidelity "high"` : mask != null ? `${field}: input_image_mask` : null
    if (reads !== null && !BOUNDED_IMAGE_MODELS.has(model))
      throw badRequest(
        `Invalid body: ${field}: image_generation with model ${JSON.stringify(String(model).slice(0, 40))} is not served reading images (${reads}): what one reference image costs that model is not documented, so its input could not be held for. Name gpt-image-1 or gpt-image-1-mini, or generate from text alone.`,
        'feature_unsupported',
      )
  }
  const unboundedModel = imageTools.some(({ tool }) => !BOUNDED_IMAGE_MODELS.has((tool as Record<string, unknown>).model))
  return { calls, images: read.images + masks, tokensPerImage: high || unboundedModel ? HIGH_FIDELITY_IMAGE_TOKENS : LOW_FIDELITY_IMAGE_TOKENS, reads }
}

/**
 * A tool that runs in an OpenAI container (code interpreter, a hosted shell: `containerToolPrice`) makes images in
 * the response — a chart per plot, any number in one call — that the image model reads as reference images, as it
 * reads a code interpreter's `outputs` sent back (`inputImages`). Nothing in the request bounds how many, so the
 * image tool's input could not be held for beside one: refused, as a file beside it is.
 */
function refuseImageMakerBeside(imageField: string, offered: readonly OfferedTool[]): void {
  const maker = offered.find(({ tool }) => containerToolPrice(tool) !== undefined)
  if (maker)
    throw badRequest(
      `Invalid body: ${maker.field}: a ${JSON.stringify(String(maker.tool?.type))} tool running in a container is not served beside the image_generation tool (${imageField}): the images it makes in the response (charts, any number in one call) are read by the image model, billed as image input tokens, and nothing bounds how many, so they could not be held for. Offer the tools in separate requests.`,
      'feature_unsupported',
    )
}

/**
 * The image model's input is served only where the row prices it (`image_generation_text_input_per_million` and
 * `image_generation_image_input_per_million` among its `server_tools`): unpriced, a request giving it images to read
 * (an input image or file, an earlier generated image, a mask, an edit, high input fidelity) is refused 400, as
 * before those rates existed: it would be billed as input tokens the answer reports apart from its usage. A generation
 * from text alone is served all the same, its image model input billed only where the rates are set.
 */
export function refuseUnpricedImageModelInput(price: Price | null, f: RequestedFeatures): void {
  const reads = f.imageModelInput?.reads
  if (reads == null || (price && imageModelRates(price))) return
  throw badRequest(
    `Invalid body: ${reads}: the image_generation tool's image model would read images, billed as input tokens that the answer reports apart from its usage (tool_usage.image_gen), and the price row sets no rates for them (server_tools.${IMAGE_TEXT_INPUT_RATE} and .${IMAGE_IMAGE_INPUT_RATE}), so they could not be held for or billed. Send the image without the tool, or generate from text alone.`,
    'feature_unsupported',
  )
}

/**
 * The stored context a Responses request continues (`previous_response_id`, a `conversation`, items by reference) is
 * read by the image model as its own input is: an image in it, sent earlier or generated there, is a reference image
 * as one in the input is (`imageModelInputOf`). The gateway recorded how many media parts each stored response
 * holds, generated images included, but not which are files (images without number); a row recorded before they were
 * counted (null) may hold any. So the `image_generation` tool over a context holding media, or that may, is refused.
 */
export function refuseImageToolOverStoredMedia(body: { tools?: unknown; input?: unknown; tool_choice?: unknown }, storedMediaParts: number | null): void {
  if (storedMediaParts === 0) return
  const imageTool = responsesRequestTools(body).find(({ tool }) => tool?.type === 'image_generation')
  if (imageTool)
    throw badRequest(
      `Invalid body: ${imageTool.field}: the image_generation tool is not served over a stored context (previous_response_id, conversation or an item by reference) that ${storedMediaParts === null ? 'may hold' : 'holds'} images or files: the image model may read them, billed as input tokens that the answer reports apart from its usage and server_tools.image_generation does not price, so they could not be held for or billed. Start a new context to generate from text alone.`,
      'feature_unsupported',
    )
}

/**
 * A Responses request's tools in one pass: the prices of the billed ones, the remote MCP servers, and the most
 * input one file_search call may bring back (its tool that allows the most results). A type neither billed nor
 * known to be free (`RESPONSES_FREE_TOOLS`) is a tool the provider runs and may bill in ways the gateway cannot
 * see: refused.
 */
function responsesTools(offered: readonly OfferedTool[]) {
  const billed = new Set<string>()
  let mcpServers = 0
  let fileSearchResults = 0
  for (const { field, tool } of offered) {
    const price = responsesToolPrice(tool)
    if (price !== undefined) billed.add(price)
    else if (tool?.type === 'mcp') mcpServers++
    else if (!RESPONSES_FREE_TOOLS.has(tool?.type))
      throw badRequest(
        `Invalid body: ${field}: a tool of type ${JSON.stringify(String(tool?.type).slice(0, 40))} is not served: the gateway knows neither that it is free nor how it is billed, so it could not be held for or priced.`,
        'feature_unsupported',
      )
    refuseUnpricedImageSettings(field, tool)
    if (tool?.type === 'file_search')
      fileSearchResults = Math.max(fileSearchResults, positiveInt(tool.max_num_results) ? tool.max_num_results : FILE_SEARCH_DEFAULT_RESULTS)
  }
  return { billed: [...billed], mcpServers, fileSearchResultTokens: fileSearchResults * FILE_SEARCH_MAX_CHUNK_TOKENS }
}

/**
 * What a Responses request's tools settle its answer's call items by: the container price each container-running
 * call item type is settled at, and the billed tools offered (by the price book's name: `web_search`, `x_search`,
 * `code_interpreter`…), without which a `custom_tool_call` bearing one of their functions' names is the client's own.
 */
export interface OfferedTools {
  code_interpreter_call: string
  shell_call: string
  billed: ReadonlySet<string>
}

const NONE_OFFERED: OfferedTools = { code_interpreter_call: 'code_interpreter', shell_call: 'code_interpreter', billed: new Set() }

/** Gigabytes of a container price's size: `code_interpreter_<n>g`, or 1 for the default `code_interpreter`. */
const containerGb = (price: string): number => Number(/_(\d+)g$/.exec(price)?.[1] ?? 1)

/**
 * The tools a Responses request offers (`responsesRequestTools`), as its answer is settled by them: their container
 * prices (`containerToolPrice`), and the billed tools among them. A call item does not say which of two tools of one
 * type it came from, so the larger container size (the dearer, by OpenAI's scheme) stands for both.
 */
export function responsesOfferedTools(body: { tools?: unknown; input?: unknown; tool_choice?: unknown }): OfferedTools {
  const offered = { ...NONE_OFFERED, billed: new Set<string>() }
  for (const { tool } of responsesRequestTools(body)) {
    const billed = responsesBilledTool(tool?.type)
    if (billed !== undefined) offered.billed.add(billed)
    const price = containerToolPrice(tool)
    const item = tool?.type === 'shell' ? 'shell_call' : 'code_interpreter_call'
    if (price !== undefined && containerGb(price) > containerGb(offered[item])) offered[item] = price
  }
  return offered
}

/**
 * An OpenAI Responses request's billed features, and the request as it goes upstream: its hosted tools
 * with fees (in `tools`, or offered by an input item: `responsesRequestTools`, served so only when nothing is
 * kept, `refuseKeptItemTools`), bounded together by `max_tool_calls` (the Responses API's limit on calls to all hosted tools
 * in a response), which gets the configured default when a billed tool or a remote MCP server is offered
 * without it; each billed tool is held at that bound (a container or an image takes at least one call).
 * MCP costs tokens only, but what its server answers is input: each call, and each server's tool listing,
 * is held at the per-use input allowance. With hard bounds (cap-output on) a remote MCP server is refused, as
 * Anthropic's MCP connector is: the client chooses the server, and nothing bounds what it lists or answers; and
 * each file_search call is held at the results it may bring back (`responsesTools`) where they pass the
 * allowance. Holding them leaves the client's `max_num_results` as it asked: cutting it to fit the allowance (4
 * chunks of the largest size) would change the answers it gets without saying so.
 * Also its service tier, audio input (`responsesAudioInput`), output modalities (`outputModalities`) and cache writes as on chat. Server-side compaction is refused: a
 * second pass over the input that the usage is not documented to report. So is a tool type neither billed
 * nor known to be free (`responsesTools`), a file beside the image tool (`imageModelInputOf`: its reference images are held and billed at the row's image model rates), and a chat template or media processing sent with the request
 * (`refuseRequestChatTemplate`, `refuseRequestMediaProcessing`);
 * the output fields of other APIs are refused on every Responses route (`refuseNonResponsesOutputFields`).
 */
export function openAIResponsesFeatures<B extends Record<string, unknown>>(
  body: B,
  bounds: Pick<ServerToolBounds, 'defaultMaxUses' | 'hardBounds'> & Partial<Pick<ServerToolBounds, 'useInputTokens'>>,
  upstreamModel: string,
): { body: B & { max_tool_calls?: unknown }; features: RequestedFeatures } {
  refuseRequestChatTemplate(body)
  refuseRequestMediaProcessing(body)
  const { webResults } = routerFeatures(body, upstreamModel)
  if (entries(body.context_management).some((entry) => entry?.type === 'compaction'))
    throw badRequest('Invalid body: context_management: server-side compaction is not served: the usage does not show what its pass costs, so it could not be held for or billed.', 'feature_unsupported')
  const offered = responsesRequestTools(body)
  const { billed, mcpServers, fileSearchResultTokens } = responsesTools(offered)
  const mcp = offered.find(({ tool }) => tool?.type === 'mcp')
  if (bounds.hardBounds && mcp)
    throw badRequest(`Invalid body: ${mcp.field}: a remote MCP server (type "mcp") is not served with cap-output on: what it lists and answers becomes input without a bound, so it could not be held for.`, 'feature_unsupported')
  refuseKeptItemTools(body, offered)
  const set = typeof body.max_tool_calls === 'number' && Number.isInteger(body.max_tool_calls) && body.max_tool_calls > 0
  const maxCalls = set ? (body.max_tool_calls as number) : bounds.defaultMaxUses
  const imageModelInput = imageModelInputOf(body.input, offered, maxCalls)
  // OpenRouter's Responses API takes chat's `modalities` (image generation) too.
  const modalities = outputModalities(body.modalities)
  // Each call is already held at the allowance, as a billed tool's use: the results past it on top.
  const searchResultsPastAllowance = bounds.hardBounds ? Math.max(0, fileSearchResultTokens - (bounds.useInputTokens ?? 0)) : 0
  const features: RequestedFeatures = withWebResults({
    ...NO_FEATURES,
    serverTools: Object.fromEntries(billed.map((tool) => [tool, maxCalls])),
    tier: requestedTier(body, upstreamModel),
    audioInput: responsesAudioInput(body.input),
    audioOutput: modalities.has('audio'),
    imageOutput: modalities.has('image'),
    cacheWrites: cacheLifetime(body),
    toolResultInput: { uses: mcpServers === 0 ? 0 : maxCalls + mcpServers, tokens: maxCalls * searchResultsPastAllowance },
    providerDefaults: openAIDefaults(body.service_tier, responsesHasPart(body.input, partMayBeAudio)),
    ...(imageModelInput && { imageModelInput }),
  }, webResults)
  const bounded = billed.length > 0 || mcpServers > 0
  return { body: !bounded || set ? body : (withFieldsLast(body, { max_tool_calls: maxCalls }) as B), features }
}

/**
 * The output item each billed hosted tool leaves in a response, and the price book's name for the tool; xAI shows
 * a code execution (asked for as `code_interpreter`) as a `code_execution_call` item.
 */
const RESPONSES_TOOL_ITEMS = new Map<unknown, string>([
  ['web_search_call', 'web_search'],
  ['file_search_call', 'file_search'],
  ['image_generation_call', 'image_generation'],
  ['code_interpreter_call', 'code_interpreter'],
  ['code_execution_call', 'code_interpreter'],
  ['x_search_call', 'x_search'],
])

/**
 * The functions by which xAI's answers show its server-side tools' calls as `custom_tool_call` items, each one call
 * of the billed tool it belongs to (xAI's usage categories SERVER_SIDE_TOOL_X_SEARCH, _WEB_SEARCH and
 * _CODE_EXECUTION; the last asked for as `code_interpreter`).
 */
const XAI_TOOL_FUNCTIONS = new Map<unknown, string>([
  ['x_user_search', 'x_search'], ['x_keyword_search', 'x_search'], ['x_semantic_search', 'x_search'], ['x_thread_fetch', 'x_search'],
  ['web_search', 'web_search'], ['web_search_with_snippets', 'web_search'], ['browse_page', 'web_search'],
  ['code_execution', 'code_interpreter'],
])

/**
 * The billed tool a call item is a use of, by its type, or a `custom_tool_call` by its function's name when the
 * request offered that tool: otherwise it is a call of the client's own custom tool, which may bear any name.
 */
function toolOfItem(item: { type?: unknown; name?: unknown } | null, billed: ReadonlySet<string>): string | undefined {
  const tool = RESPONSES_TOOL_ITEMS.get(item?.type)
  if (tool !== undefined || item?.type !== 'custom_tool_call') return tool
  const called = XAI_TOOL_FUNCTIONS.get(item.name)
  return called !== undefined && billed.has(called) ? called : undefined
}

/** The hosted container a `shell_call` item ran in (`environment: {type: 'container_reference', container_id}`); undefined for a local shell. */
const shellContainer = (item: { environment?: unknown }): string | null | undefined => {
  const environment = item.environment as { type?: unknown; container_id?: unknown } | null | undefined
  if (environment?.type !== 'container_reference') return undefined
  return typeof environment.container_id === 'string' ? environment.container_id : null
}

/**
 * Uses of the billed hosted tools in a Responses answer's `output` (tools not named were not used): one per
 * `web_search_call`, `file_search_call`, `image_generation_call` and X Search call item, and per call of an
 * offered tool xAI shows by its function's name (`toolOfItem`); one per container the `code_interpreter_call`
 * items and the hosted `shell_call` items ran in (OpenAI bills containers, not calls), at the container price the
 * request's tool named (`responsesOfferedTools`). xAI's code executions name no container: one each, at that price.
 */
export function responsesServerToolUses(output: unknown, offered: OfferedTools = NONE_OFFERED): Record<string, number> {
  const uses = toolCounts()
  const containers = new Set<string>()
  if (Array.isArray(output)) for (const item of output) {
    let tool = toolOfItem(item, offered.billed)
    let container: string | null | undefined = null
    if (tool === 'code_interpreter') {
      tool = offered.code_interpreter_call
      if (typeof item.container_id === 'string') container = item.container_id
    } else if (item?.type === 'shell_call') {
      container = shellContainer(item)
      if (container === undefined) continue
      tool = offered.shell_call
    }
    if (tool === undefined) continue
    if (container) {
      if (containers.has(container)) continue
      containers.add(container)
    }
    uses[tool] = (uses[tool] ?? 0) + 1
  }
  return uses
}

/**
 * What Anthropic bills by an `anthropic-beta` value, as sent (the client's flags, or the provider's
 * configured ones that replace them, and a Messages body's `betas`): `context-1m-…` switches on the long-context
 * window and its rates. Every Anthropic path, native or translated, reads its beta flags here, as a lenient
 * server does (`betaFlagList`: any case, any space around them).
 */
export function anthropicBetaFeatures(betaFlags: string): Pick<RequestedFeatures, 'longContext'> {
  // One after a space within a flag counts too: a reader may split on spaces as well as commas.
  return { longContext: betaFlagList(betaFlags).some((flag) => /(^|[\s\x1c-\x1f\x85])context-1m-/.test(flag)) }
}

/** Anthropic's long context window, in input tokens (`context-1m-…`). */
export const LONG_CONTEXT_WINDOW_TOKENS = 1_000_000

/**
 * The context window a request's features open, for the estimate (`EstimateTarget.openedWindowTokens`): the long
 * context window when the provider is sent `context-1m-…`, else none (a model's own window, 1M on Claude Opus and
 * Sonnet 4.6 and later without the flag, is its price row's `context_window_tokens`). The flag is Anthropic's: the
 * estimate counts it for a Claude model only (`estimateOptionsFor`).
 */
export const contextWindowOf = (features: Pick<RequestedFeatures, 'longContext'> | undefined): number | undefined =>
  features?.longContext ? LONG_CONTEXT_WINDOW_TOKENS : undefined

/** A `thread` other than `{"type": "create"}` continues a conversation the provider holds. */
const isContinuedThread = (thread: unknown): boolean =>
  typeof thread === 'object' && thread !== null && (thread as { type?: unknown }).type !== 'create'

/** The billed server tools a request's tool definitions offer, the input their results may bring, and the uses of its server tool loop. */
interface ToolTally {
  serverTools: Record<string, number>
  toolResultInput: { uses: number; tokens: number }
  loopUses: number
  loopResults: { uses: number; tokens: number; largestUse: number }
}

/**
 * One Anthropic tool definition, in `tools` or inline (`withInlineToolDefinitions`), as it goes upstream: a billed
 * server tool counted in `tally` at its bound, given the default `max_uses` (a web fetch: and `max_content_tokens`)
 * where it sets none, and every server tool's uses counted as passes of the loop it runs in; a tool that takes no
 * `max_uses` (code execution, tool search) held at the default, or with hard bounds refused, as a web search or
 * fetch that filters its results in code is; a router's own tool and the advisor refused. `field` names where it stands.
 */
function boundedAnthropicTool(definition: unknown, field: string, bounds: ServerToolBounds, tally: ToolTally): unknown {
  const tool = (definition ?? {}) as { type?: unknown; max_uses?: unknown; max_content_tokens?: unknown }
  const type = typeof tool.type === 'string' ? tool.type : ''
  const setUses = positiveInt(tool.max_uses) ? tool.max_uses : undefined
  const set = setUses !== undefined
  const maxUses = setUses ?? bounds.defaultMaxUses
  if (type.includes(':'))
    throw badRequest(
      `Invalid body: ${field}: a tool of type ${JSON.stringify(type.slice(0, 40))} is not served: a router's own server tool (OpenRouter's \`openrouter:…\`), billed beyond tokens in ways the usage does not show, so it could not be held for or priced.`,
      'feature_unsupported',
    )
  if (ANTHROPIC_ADVISOR.test(type))
    throw badRequest(
      `Invalid body: ${field}: ${type} is not served: the advisor's pass runs on another model and is billed at that model's rates, which a request priced at one model cannot hold for or bill.`,
      'feature_unsupported',
    )
  if (bounds.hardBounds && filtersResultsInCode(type))
    throw badRequest(
      `Invalid body: ${field}: ${type} is not served with cap-output on: it filters its results in code execution runs (dynamic filtering), each one more pass over the whole input, which max_uses does not bound, so its cost could pass the budget. Send ${type.startsWith('web_search') ? 'web_search_20250305' : 'web_fetch_20250910'}, which does not.`,
      'feature_unsupported',
    )
  if (ANTHROPIC_WEB_FETCH.test(type)) {
    const contentTokens = positiveInt(tool.max_content_tokens) ? tool.max_content_tokens : undefined
    if (contentTokens) {
      tally.toolResultInput.tokens += maxUses * contentTokens
      tally.loopResults.tokens += maxUses * contentTokens
      tally.loopResults.largestUse = Math.max(tally.loopResults.largestUse, contentTokens)
    } else {
      tally.toolResultInput.uses += maxUses
      tally.loopResults.uses += maxUses
    }
    tally.loopUses += maxUses
    return set && contentTokens ? definition : withFieldsLast(tool, { max_uses: maxUses, max_content_tokens: contentTokens ?? bounds.useInputTokens })
  }
  const search = ANTHROPIC_TOOL_SEARCH.test(type)
  const billed = ANTHROPIC_BILLED_TOOL.exec(type)?.[1]
  if (!billed && !search) return definition
  if (bounds.hardBounds && !TAKES_MAX_USES.has(billed ?? ''))
    throw badRequest(
      `Invalid body: ${field}: ${type} is not served with cap-output on: it takes no max_uses, so nothing bounds its uses, each one more pass over the whole input, and its cost could pass the budget.`,
      'feature_unsupported',
    )
  tally.loopUses += maxUses
  if (!billed) return definition
  tally.serverTools[billed] = (tally.serverTools[billed] ?? 0) + maxUses
  tally.loopResults.uses += maxUses
  return set || !TAKES_MAX_USES.has(billed) ? definition : withFieldsLast(tool, { max_uses: maxUses })
}

/**
 * An Anthropic Messages request's billed features, and the request as it goes upstream: every billed
 * server tool, in `tools` or defined inline (`withInlineToolDefinitions`), that takes `max_uses` and sets none gets
 * the configured default, so that its worst case is
 * bounded (code execution and tool search take none: they are held at the default); the input is held once more for
 * each use, as Anthropic's server tool loop samples the model again over the whole context after each. A web fetch gets the default `max_uses`
 * and, unset, `max_content_tokens` of the per-use input allowance: its pages are input, held at that bound
 * per use. Fast mode (`speed: "fast"`) is the tier `fast`, and a `service_tier` other than the plain ones is a tier
 * too (`requestedTier`); `cache_control` marks cache writes (never
 * refused: they have a fallback rate), `ttl: "1h"` the dearer 1-hour ones; `betaFlags`, the
 * `anthropic-beta` value the provider is sent, may switch on the long-context window and its rates
 * (`anthropicBetaFeatures`); a `compact_*` context edit asks for server-side compaction; an `inference_geo`
 * other than the default `global` (`us`) asks for a geography billed above the global rates. The MCP
 * connector (`mcp_servers`) is refused: nothing bounds what its servers answer, and that is input. The
 * advisor tool (`advisor_*`) is refused: its pass is billed at another model's rates, and so are server-side
 * `fallbacks`. A `thread` continued from a message the provider holds is refused: its stored conversation is
 * input of a size the gateway cannot know (`{"type": "create"}` only asks the provider to keep one); refused as
 * Anthropic refuses a request it cannot thread, so that the Anthropic SDK sends the whole conversation. A router's
 * fields (`routerFeatures`: OpenRouter serves this API too, and reads its `models` and `plugins` here) are read as
 * on chat, against `upstreamModel`, the model the provider is sent; Anthropic itself refuses them. A model other than
 * Claude there may write its cache unasked (`writesCacheUnasked`), which a hard bound holds for, and a search model
 * searches on every request (`withModelSearch`).
 */
export function anthropicFeatures(
  body: Record<string, unknown>,
  bounds: ServerToolBounds,
  betaFlags = '',
  upstreamModel = '',
): { body: Record<string, unknown>; features: RequestedFeatures } {
  if (entries(body.mcp_servers).length > 0)
    throw badRequest('Invalid body: mcp_servers: the MCP connector is not served: what its servers answer becomes input without a bound, so it could not be held for.', 'feature_unsupported')
  if (body.fallbacks === 'default' || entries(body.fallbacks).length > 0)
    throw badRequest(
      'Invalid body: fallbacks: server-side fallback is not served: a declined request is retried on another model, with its own max_tokens, and every attempt is billed at its model\'s rates, which a request priced at one model cannot hold for or bill.',
      'feature_unsupported',
    )
  if (isContinuedThread(body.thread))
    throw threadRefused(
      'Invalid body: thread: continuing a thread the provider holds adds its stored conversation to the input, whose size is not known to the gateway, so its cost cannot be held: send the whole conversation as messages.',
      'context_size_unknown',
    )
  refuseAnthropicToolChoiceType(body.tool_choice)
  const { webResults } = routerFeatures(body, upstreamModel)
  const tally: ToolTally = { serverTools: {}, toolResultInput: { uses: 0, tokens: 0 }, loopUses: 0, loopResults: { uses: 0, tokens: 0, largestUse: 0 } }
  const bounded = (tool: unknown, field: string) => boundedAnthropicTool(tool, field, bounds, tally)
  const withTools = Array.isArray(body.tools) ? withFieldsLast(body, { tools: body.tools.map((tool) => bounded(tool, 'tools')) }) : body
  const upstreamBody = withInlineToolDefinitions(withTools, bounded)
  const { serverTools, toolResultInput, loopUses, loopResults } = tally
  const { tier, leftToProvider } = anthropicTier(body, upstreamModel)
  const features: RequestedFeatures = withModelSearch(withWebResults({
    ...NO_FEATURES,
    serverTools,
    tier,
    cacheWrites: cacheLifetime(body),
    ...anthropicBetaFeatures(betaFlags),
    toolResultInput,
    toolLoopUses: loopUses,
    toolLoopResults: loopResults,
    compaction: entries((body.context_management as { edits?: unknown } | null)?.edits).some((edit) => typeof edit?.type === 'string' && edit.type.startsWith('compact_')),
    inferenceGeo: requestedGeo(body.inference_geo),
    // Without one, the workspace's default geography is served (Anthropic bills it as reported).
    providerDefaults: {
      tier: leftToProvider,
      geo: body.inference_geo == null,
      cacheWrites: writesCacheUnasked(upstreamModel),
      audioInput: false,
    },
  }, webResults), upstreamModel)
  return { body: upstreamBody, features }
}

/** Messages' `tool_choice` types: each picks among `tools` (`tool` by its name), none names a tool of its own. */
const ANTHROPIC_TOOL_CHOICES = new Set<unknown>(['auto', 'any', 'tool', 'none'])

/**
 * A Messages `tool_choice` of another type names a tool by type, as the Responses API's `{type: "image_generation"}`
 * does, which a router may add to `tools` unpriced and unheld: refused, as Anthropic refuses it.
 */
function refuseAnthropicToolChoiceType(choice: unknown): void {
  const type = (choice as { type?: unknown } | null | undefined)?.type
  if (choice != null && !ANTHROPIC_TOOL_CHOICES.has(type))
    throw badRequest(
      `Invalid body: tool_choice: a tool_choice of type ${JSON.stringify(String(type).slice(0, 40))} is not served: only "auto", "any", "tool" and "none" are, which choose among tools; a tool named by its type could be added by a router without a price or a hold.`,
      'feature_unsupported',
    )
}

/**
 * The inference geography a request asks for (`inference_geo`), null for the default (`global`) or none
 * (`null` leaves it to the workspace's default). Any other type is a 400, as Anthropic's own answer
 * would be: it must not pass as no geography at all.
 */
function requestedGeo(geo: unknown): string | null {
  if (geo == null) return null
  if (typeof geo !== 'string') throw badRequest('Invalid body: inference_geo: must be a string such as "global" or "us"')
  return isDefaultGeo(geo) ? null : geo
}

/**
 * The longest lifetime of any `cache_control` anywhere in the request: Anthropic takes it on blocks nested
 * in others too (the text blocks of a custom-content document, a tool result's), so every object is looked
 * at (bodies are at most 128 levels deep).
 */
function cacheLifetime(body: Record<string, unknown>): '5m' | '1h' | null {
  let found: '5m' | '1h' | null = null
  // Indexed loops over arrays and Object.keys: `for…in` here raised the gateway's peak RSS by ~33 MB under load.
  const visit = (value: object): void => {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length && found !== '1h'; i++) {
        const item: unknown = value[i]
        if (item && typeof item === 'object') visit(item)
      }
      return
    }
    const o = value as Record<string, unknown>
    const keys = Object.keys(o)
    for (let i = 0; i < keys.length && found !== '1h'; i++) {
      const item = o[keys[i]!]
      if (!item || typeof item !== 'object') continue
      if (keys[i] === 'cache_control' && !Array.isArray(item)) found = (item as { ttl?: unknown }).ttl === '1h' ? '1h' : '5m'
      else visit(item)
    }
  }
  visit(body)
  return found
}

/**
 * The first feature the request asks for that the price has no amount for, named as a client would look
 * for it.
 *
 * The long context window (`context-1m`) needs `service_tiers.long_context` whenever a request switches it on,
 * however small its estimate: the estimate is no bound on what the provider reads (a document or an image by
 * `file_id` or URL counts at the configured media bound, whatever its size), so only the usage tells whether
 * the prompt passed 200K, and with no multiplier settlement would bill it at the plain rates, half of
 * Anthropic's. A model billed flat in its long window is priced `long_context: 1`. A row with a threshold of its
 * own always has the multiplier (the price book refuses one without it): it is judged by that threshold.
 */
export function unpricedFeature(price: Price, f: RequestedFeatures, inputTokens: number): string | null {
  for (const tool of Object.keys(f.serverTools)) if (toolPrice(price, tool) === undefined) return `the server tool ${tool}`
  if (f.tier !== null && namedMultiplier(price, f.tier) === undefined)
    return f.tier === 'fast' ? 'fast mode (speed "fast")' : `the service tier ${f.tier}`
  if (f.audioInput && price.audioInputPerMillion == null) return 'audio input'
  if (f.audioOutput && price.audioOutputPerMillion == null) return 'audio output'
  if (f.imageOutput && price.imageOutputPerMillion == null) return 'image output'
  if (f.inferenceGeo !== null && namedMultiplier(price, geoMultiplierName(f.inferenceGeo)) === undefined)
    return `the inference geography ${JSON.stringify(f.inferenceGeo.slice(0, 40))} (inference_geo; priced by service_tiers.${geoMultiplierName(f.inferenceGeo.slice(0, 40))})`
  if (f.longContext && namedMultiplier(price, 'long_context') === undefined && (price.longContextAboveTokens == null || inputTokens > price.longContextAboveTokens))
    return `the long context window (anthropic-beta context-1m) past ${longContextThreshold(price)} input tokens`
  return null
}

/** Require-pricing for features: a 402 naming the feature, before any hold or upstream call. */
export function requireFeaturesPriced(price: Price, f: RequestedFeatures, inputTokens: number): void {
  const feature = unpricedFeature(price, f, inputTokens)
  if (feature)
    throw paymentRequired('pricing_required', `No price is set for ${feature} on ${price.model}; the gateway serves only what it can price.`)
}
