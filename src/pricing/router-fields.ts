/**
 * Fields of the routers teams put in front of models — OpenRouter, a LiteLLM proxy, reached as an `openai`
 * provider or at an Anthropic-compatible endpoint — that change what is billed: fallbacks to another model
 * (refused: a request is priced at one model), and OpenRouter's plugins (its web search priced per result,
 * others refused unless billed by tokens alone).
 */
import type { ProviderConfig } from '../config/schema'
import { badRequest } from '../http/errors'
import { entries, isJsonObject, positiveInt } from './body-values'
import type { Price, RequestedFeatures } from './price'
import { withFieldsLast } from '../translate/fields-last'

/** An entry of a fallback list that names `model` alone: the model itself, or LiteLLM's `{model}` with nothing else to change. */
const namesOnly = (model: string) => (entry: unknown): boolean =>
  entry === model || (typeof entry === 'object' && entry !== null && (entry as { model?: unknown }).model === model && Object.keys(entry).length === 1)

/** LiteLLM's per-request fallback lists: on any error, on a context-window error, on a content-policy refusal. */
const LITELLM_FALLBACK_LISTS = ['fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks'] as const

/**
 * Fields with which a router in front of the model (an `openai` provider such as OpenRouter or a LiteLLM proxy)
 * answers from another model when the one asked for fails: OpenRouter's `models` (tried in turn on any error, a
 * context-length error the client can cause included, and billed at the model that answered) with its
 * `route: "fallback"`, and LiteLLM's three fallback lists (its router reads each from the request). The request is
 * priced and held at one model: a list naming any other is refused, and so is `route: "fallback"` without a
 * `models` list that names it alone.
 */
export function refuseModelFallbacks(body: Record<string, unknown>, upstreamModel: string): void {
  if (body.models == null && body.route == null && LITELLM_FALLBACK_LISTS.every((list) => body[list] == null)) return
  const onlyItself = namesOnly(upstreamModel)
  const namesOther = (list: unknown) => list != null && !(Array.isArray(list) && list.every(onlyItself))
  const field =
    namesOther(body.models) ? 'models'
    : body.route === 'fallback' && !Array.isArray(body.models) ? 'route'
    : LITELLM_FALLBACK_LISTS.find((list) => namesOther(body[list])) ?? null
  if (field)
    throw badRequest(
      `Invalid body: ${field}: model fallbacks are not served: the router may answer from another model, billed at that model's rates, which a request priced at ${JSON.stringify(upstreamModel.slice(0, 80))} cannot hold for or bill.`,
      'feature_unsupported',
    )
}

/** The keys of `extra_body` a request may send: Gemini's `google`, as its OpenAI-compatible endpoint documents it. */
const EXTRA_BODY_SERVED = new Set(['google'])

/**
 * A LiteLLM proxy merges a request's `extra_body` over the provider request it builds, after its own checks, and it
 * wins even over `model` (BerriAI/litellm#31118): `extra_body: {max_tokens: 100000, n: 4}` has the provider generate
 * past the output bound the hold covers (and, with cap-output on, the bound the gateway sends), and `extra_body:
 * {model}` runs a model the key may not call, at rates the request was not priced at. The gateway reads nothing else
 * in it, so it is refused but for Gemini's `google`: merged, that is the top-level `google` a request may send anyway,
 * and a context cache named in it is refused (`refuseUnseenCache`).
 */
export function refuseExtraBody(body: Record<string, unknown>): void {
  const extra = body.extra_body
  if (extra == null || (isJsonObject(extra) && Object.keys(extra).every((key) => EXTRA_BODY_SERVED.has(key)))) return
  const refusal = badRequest(
    "Invalid body: extra_body: is not served but for Gemini's google: a router merges it over the request it sends, past the model and output bound the request was allowed, priced and held at. Send its fields in the request itself.",
    'feature_unsupported',
  )
  refusal.param = 'extra_body'
  throw refusal
}

/**
 * The body fields a LiteLLM proxy sends as headers of the call it makes, over those it forwards: `completion()`
 * takes `headers` (else `extra_headers`), adds `extra_headers` to them, and adds `provider_specific_header`'s
 * `extra_headers` for the provider it names.
 */
const ROUTER_HEADER_FIELDS = ['extra_headers', 'headers', 'provider_specific_header'] as const

/**
 * A router's headers from the body (`ROUTER_HEADER_FIELDS`): an `anthropic-beta: context-1m-…` there opens the
 * long-context window the request was not priced at, and no header the provider's configuration sets can remove it.
 * The gateway sends the provider's headers itself, so each is refused whatever it holds, as `extra_body` is.
 */
export function refuseRouterHeaders(body: Record<string, unknown>): void {
  const field = ROUTER_HEADER_FIELDS.find((name) => body[name] != null)
  if (field === undefined) return
  const refusal = badRequest(
    `Invalid body: ${field}: is not served: a router sends it as headers of its call, past the beta flags and settings the request was priced and held at.`,
    'feature_unsupported',
  )
  refusal.param = field
  throw refusal
}

/** The fields `refuseModelFallbacks` reads. */
const FALLBACK_FIELDS = new Set<string>(['models', 'route', ...LITELLM_FALLBACK_LISTS])

/**
 * A multipart form's fallback fields (a transcription's) as `refuseModelFallbacks` reads them. A form carries a list
 * as one field per entry, named plainly or with `[]` after the name (as the OpenAI SDKs send lists, and LiteLLM's
 * proxy reads them): every value is one entry. A value that is not the model's own id names another model, a whole
 * list sent as one JSON value included.
 */
export function formFallbackFields(form: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown[]> = {}
  for (const [name, value] of Object.entries(form)) {
    const field = name.endsWith('[]') ? name.slice(0, -2) : name
    if (!FALLBACK_FIELDS.has(field)) continue
    const entries = (fields[field] ??= [])
    for (const entry of Array.isArray(value) ? value : [value]) entries.push(entry) // not a spread: a form can repeat a name past the stack's size
  }
  const { route, ...lists } = fields
  return route ? { ...lists, route: route.includes('fallback') ? 'fallback' : route[0] } : lists
}

/** OpenRouter's web plugin brings back 5 results unless `max_results` says otherwise, each billed ($4 per 1,000). */
const OPENROUTER_WEB_RESULTS = 5

/**
 * Models whose web plugin runs, with no `engine` named, the model provider's own search: OpenRouter's default for
 * Anthropic, OpenAI, Perplexity and xAI models (by their slug, `openai/gpt-4o`, or a vendor's model name a proxy
 * may keep, `gpt-4o`), and for its auto router (`openrouter/auto`), which may pick one of them. Every other model
 * searches with Exa. A model the list misses is billed as Exa results: it is named from OpenRouter's documentation.
 */
const NATIVE_SEARCH_BY_DEFAULT = /^~?(?:(?:anthropic|openai|perplexity|x-ai|openrouter)\/|(?:claude|gpt|chatgpt|o\d|sonar|grok)(?:[-.:]|$))/

/**
 * Why the web plugin of a request to `upstreamModel` is not served, or null: only the `exa` engine is billed per
 * result, which `server_tools.web_search` prices. `native` passes the model provider's search through at the
 * provider's own rates (OpenAI per call, $25 and up per 1,000 whatever `max_results` says; Anthropic $10 per 1,000
 * searches), and the newer engines (`parallel`, `firecrawl`, …) have prices of their own: a price per result
 * would bill them for less. So is no engine on a model whose default is native (`NATIVE_SEARCH_BY_DEFAULT`).
 */
function unpricedSearchEngine(engine: unknown, upstreamModel: string): string | null {
  if (engine === 'exa' || (engine == null && !NATIVE_SEARCH_BY_DEFAULT.test(upstreamModel))) return null
  const runs = engine == null ? `without an engine it runs ${JSON.stringify(upstreamModel.slice(0, 80))}'s native search` : `the engine ${JSON.stringify(String(engine).slice(0, 40))} bills`
  return `the web plugin is served only with the "exa" engine, billed per result as server_tools.web_search prices it: ${runs} at rates of its own (a provider's search per call, not per result), which the gateway cannot count or price.`
}

/** OpenRouter's PDF engines billed by tokens alone (`cloudflare-ai` is what the deprecated `pdf-text` now runs). */
const FREE_PDF_ENGINES = new Set(['pdf-text', 'cloudflare-ai', 'native'])

/**
 * The web results OpenRouter's plugins may bill (`plugins: [{id: "web", max_results}]`; a model named `…:online`
 * is the same plugin at its default: `withOnlineModelResults`), held and billed as uses of `web_search`: the usage
 * does not count them. Its `file-parser` with a PDF engine billed by tokens, and `response-healing`, cost nothing more. Any other
 * plugin is refused: `mistral-ocr` is billed per page, which neither a PDF by URL nor the usage shows, and an id
 * not known here may be billed in ways the gateway cannot see. The file parser needs its engine named: without
 * one, OpenRouter falls back to `mistral-ocr` for a model that cannot read files.
 */
function openRouterWebResults(plugins: unknown, upstreamModel: string): number {
  let results = 0
  for (const plugin of entries(plugins) as Array<Record<string, any> | null>) {
    const id = plugin?.id
    if (id === 'web') {
      const unpriced = unpricedSearchEngine(plugin!.engine, upstreamModel)
      if (unpriced) throw badRequest(`Invalid body: plugins: ${unpriced} Name "engine": "exa".`, 'feature_unsupported')
      results += positiveInt(plugin!.max_results) ? plugin!.max_results : OPENROUTER_WEB_RESULTS
    } else if (id === 'file-parser') {
      const engine = plugin!.pdf?.engine
      if (!FREE_PDF_ENGINES.has(engine))
        throw badRequest(
          `Invalid body: plugins: the file-parser plugin is served only with a PDF engine billed by tokens ("pdf-text", "cloudflare-ai" or "native"): ${typeof engine === 'string' ? JSON.stringify(engine.slice(0, 40)) + ' is' : 'without one, OpenRouter may use "mistral-ocr", which is'} billed per page, which the gateway cannot count or price.`,
          'feature_unsupported',
        )
    } else if (id !== 'response-healing')
      throw badRequest(
        `Invalid body: plugins: the plugin ${JSON.stringify(String(id).slice(0, 40))} is not served: what it bills beyond tokens is not known to the gateway, so it could not be held for or priced.`,
        'feature_unsupported',
      )
  }
  return results
}

/**
 * What a request to a router (OpenRouter, a LiteLLM proxy: an `openai` provider, or an `anthropic` one at its
 * Anthropic-compatible endpoint) bills beyond the model's tokens: its web plugin's results (and fallbacks refused,
 * `refuseModelFallbacks`; OpenRouter's presets, `refusePreset`; a proxy's stored prompts, `refuseStoredPromptTemplate`;
 * a proxy's `extra_body` and headers, `refuseExtraBody` and `refuseRouterHeaders`; host routing the gateway could not bound, `refuseUnboundedRouting`). Requests without these fields pay a few property reads.
 */
export function routerFeatures(body: Record<string, unknown>, upstreamModel: string): { webResults: number } {
  refuseModelFallbacks(body, upstreamModel)
  refusePreset(body)
  refuseStoredPromptTemplate(body)
  refuseExtraBody(body)
  refuseRouterHeaders(body)
  if (body.provider != null) refuseUnboundedRouting(body.provider)
  return { webResults: body.plugins != null ? openRouterWebResults(body.plugins, upstreamModel) : 0 }
}

/**
 * OpenRouter's `preset` names a configuration kept in the account whose key the gateway sends, the operator's: it may
 * add fallback models, a system prompt, routing and server tools (web search, subagents), none of which the request
 * shows, so none of which its hold or price could cover. A preset named in `model` (`@preset/…`) is a model the price
 * book does not price.
 */
function refusePreset(body: Record<string, unknown>): void {
  if (body.preset != null)
    throw badRequest(
      "Invalid body: preset: OpenRouter presets are not served: a preset may add models, a system prompt and server tools the request does not show, billed in ways it could not be held for or priced at. Send the settings in the request instead.",
      'feature_unsupported',
    )
}

/**
 * A prompt template a router keeps and puts before the request's messages: LiteLLM's prompt management reads
 * `prompt_id` (with `prompt_variables`, `prompt_version`) on chat, Responses and Messages, and a `prompt` object names
 * one as OpenAI's Responses API does (`{id, version, variables}`). The template is input the provider bills that the
 * request does not show, so it is refused as OpenAI's stored prompt is on Responses. A `prompt` string is no template.
 */
function refuseStoredPromptTemplate(body: Record<string, unknown>): void {
  const field = body.prompt_id != null ? 'prompt_id' : isJsonObject(body.prompt) ? 'prompt' : undefined
  if (field)
    throw badRequest(
      `Invalid body: ${field}: a stored prompt is kept by the router or the provider and its size is not known to the gateway, so its cost cannot be held; send its content in the request instead.`,
      'unsized_stored_input',
    )
}

/** OpenRouter's `provider` routing is bounded by merging `max_price` into it (`withRowMaxPrice`): it must be an object to take one. */
function refuseUnboundedRouting(routing: unknown): void {
  const field = !isJsonObject(routing) ? 'provider' : routing.max_price != null && !isJsonObject(routing.max_price) ? 'provider.max_price' : null
  if (field)
    throw badRequest(`Invalid body: ${field}: must be an object (OpenRouter's provider routing), so that the gateway can bound the host's prices to the model's.`, 'invalid_request')
}

/** The catalog id by which an operator names a provider as OpenRouter (`catalog: openrouter`). */
const OPENROUTER = 'openrouter'

const usd = (micros: number): number => micros / 1_000_000

/** The client's own bound where it is at most the row's (kept as the client wrote it), else the row's. */
function lowerBound(client: unknown, row: number): unknown {
  const n = typeof client === 'number' ? client : typeof client === 'string' && client.trim() !== '' ? Number(client) : Number.NaN
  return n >= 0 && n <= row ? client : row
}

/**
 * The request as it goes to OpenRouter, bounded to the row it is billed at. OpenRouter serves a model from any of
 * its hosts, each billed at its own rates: the client may route to a dearer one (`provider: {sort: "throughput"}`,
 * what `:nitro` does, which the price book prices as a model of its own; `order`, `only`), and its default load
 * balancing may pick one too. Its `provider.max_price` (USD per million prompt and completion tokens, and per
 * request: 0 where the row has no per-request price) set to the row's rates keeps every host it may pick no dearer
 * than what the gateway bills; the client's own lower bounds, and the rest of its routing, are kept. Sent when the
 * request routes by `provider` (only OpenRouter reads it) or the provider is named OpenRouter (`catalog:
 * openrouter`). A row that serves the model free (0/0, no per-request price) is the operator's choice to bill
 * nothing: bounded at 0, OpenRouter would serve only free hosts, so it is sent as it came.
 */
export function withRowMaxPrice(body: Record<string, unknown>, price: Price | null, provider: Pick<ProviderConfig, 'catalog'>): Record<string, unknown> {
  const routing = isJsonObject(body.provider) ? body.provider : undefined
  if (price === null || (routing === undefined && provider.catalog !== OPENROUTER)) return body
  if (price.inputPerMillion === 0 && price.outputPerMillion === 0 && !price.perRequest) return body
  const asked = routing !== undefined && isJsonObject(routing.max_price) ? routing.max_price : {}
  const max_price = {
    ...asked,
    prompt: lowerBound(asked.prompt, usd(price.inputPerMillion)),
    completion: lowerBound(asked.completion, usd(price.outputPerMillion)),
    // A host's per-request fee is billed only where the row has one: elsewhere the bound is 0.
    request: lowerBound(asked.request, usd(price.perRequest ?? 0)),
  }
  return withFieldsLast(body, { provider: withFieldsLast(routing, { max_price }) })
}

/** Server tools with the router's web results added as `web_search` uses, and those uses kept apart for settlement. */
export function withWebResults(features: RequestedFeatures, webResults: number): RequestedFeatures {
  if (webResults === 0) return features
  const serverTools = { ...features.serverTools, web_search: (features.serverTools.web_search ?? 0) + webResults }
  return { ...features, serverTools, unreportedToolUses: { web_search: webResults } }
}

/**
 * A model named `…:online` asks OpenRouter for its web plugin at its default results and engine, unless the
 * request's own web plugin already sets them. Read from the model the provider is sent, whatever the route or the
 * translation (a translation keeps the model and builds a body without plugins), so admission adds it for every
 * request; refused where that default engine is the model's native search (`unpricedSearchEngine`).
 */
export function withOnlineModelResults(features: RequestedFeatures, upstreamModel: string): RequestedFeatures {
  if (!upstreamModel.endsWith(':online') || features.unreportedToolUses?.web_search !== undefined) return features
  const unpriced = unpricedSearchEngine(undefined, upstreamModel)
  if (unpriced)
    throw badRequest(
      `Invalid body: model: ":online" asks for OpenRouter's web plugin with its default engine: ${unpriced} Send the model without ":online", with a web plugin whose "engine" is "exa".`,
      'feature_unsupported',
    )
  return withWebResults(features, OPENROUTER_WEB_RESULTS)
}
