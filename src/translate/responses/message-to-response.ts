import type { TokenCounts } from '../../pricing/price'
import { incompleteReasonOf } from '../stop-reason'
import { anthropicUsage } from '../usage'
import { carryThinking } from './reasoning-carrier'
import { type FunctionName, FunctionNames } from './function-names'
import { responseObject, responsesUsageShape } from './response-object'

type Json = Record<string, any>

/**
 * The counts the gateway bills an Anthropic usage (`anthropicUsage`) in the Responses shape, so that the client is told
 * what it pays for: cache reads and writes are input, the reads its cached part; each kind at least its sum over the
 * usage's `iterations`.
 */
export const usageOfMessage = (counts: TokenCounts | null): Json =>
  responsesUsageShape(counts?.promptTokens ?? 0, counts?.cachedTokens ?? 0, counts?.completionTokens ?? 0)

export const outputText = (text: string, annotations: Json[] = []): Json => ({ type: 'output_text', annotations, logprobs: [], text })

export const refusalPart = (refusal: string): Json => ({ type: 'refusal', refusal })

/** Claude's citation of a search result as a Responses `url_citation` of its text block (each block is its own message item). */
export function urlCitation(citation: Json, text: string): Json | null {
  if (citation?.type !== 'web_search_result_location' || typeof citation.url !== 'string') return null
  return { type: 'url_citation', start_index: 0, end_index: text.length, url: citation.url, title: String(citation.title ?? '') }
}

const citationsOf = (block: Json, text: string): Json[] =>
  Array.isArray(block.citations) ? block.citations.map((c: Json) => urlCitation(c, text)).filter((c): c is Json => c !== null) : []

/** The query Claude searched for, from a `server_tool_use` block's input (given whole, or as the JSON text streamed). */
export function searchQuery(input: unknown): string {
  let value = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input)
    } catch {
      return ''
    }
  }
  const query = (value as Json | null)?.query
  return typeof query === 'string' ? query : ''
}

/** The pages a `web_search_tool_result` block found (none for an error result). */
const searchSources = (result: Json | undefined): Json[] =>
  Array.isArray(result?.content) ? result.content.filter((r: Json) => typeof r?.url === 'string').map((r: Json) => ({ type: 'url', url: r.url })) : []

/** A search failed when its result block is Anthropic's error result. */
const searchFailed = (result: Json | undefined): boolean => result?.content?.type === 'web_search_tool_result_error'

const calledAs = (block: Json): FunctionName =>
  ({ name: block.name, ...(typeof block.namespace === 'string' && { namespace: block.namespace }) })

/** The Responses output items for Anthropic content blocks (ids derived from the message's, so stable). */
export const outputItems = {
  message: (id: string, text: string, status = 'completed', annotations: Json[] = []): Json =>
    ({ id, type: 'message', status, role: 'assistant', content: [outputText(text, annotations)] }),
  refusal: (id: string, refusal: string, status = 'completed'): Json =>
    ({ id, type: 'message', status, role: 'assistant', content: [refusalPart(refusal)] }),
  reasoning: (id: string, block: Json): Json => ({
    id,
    type: 'reasoning',
    summary: block.type === 'thinking' && block.thinking ? [{ type: 'summary_text', text: String(block.thinking) }] : [],
    encrypted_content: carryThinking(block),
  }),
  /** A call of the client's function, named as the client named it (`called`: a namespaced one by name and namespace). */
  functionCall: (block: Json, args: string, status = 'completed'): Json =>
    ({ id: `fc_${block.id}`, type: 'function_call', status, arguments: args, call_id: block.id, ...calledAs(block) }),
  webSearchCall: (id: string, query: string, result: Json | undefined, status?: string): Json => ({
    id: `ws_${id}`,
    type: 'web_search_call',
    status: status ?? (searchFailed(result) ? 'failed' : 'completed'),
    action: { type: 'search', query, sources: searchSources(result) },
  }),
}

/**
 * An Anthropic Message as a Responses response object: text as message items (search citations as their
 * `url_citation` annotations), thinking as reasoning items, tool_use as function calls (by the client's names of
 * them, `names`), each web search (its `server_tool_use` block and its result) as a `web_search_call` item.
 */
export function messageToResponse(message: Json, echo: Json, names = new FunctionNames()): Json {
  const blocks: Json[] = Array.isArray(message.content) ? message.content : []
  const results = new Map(blocks.filter((b) => b?.type === 'web_search_tool_result').map((b) => [b.tool_use_id, b]))
  const output: Json[] = []
  blocks.forEach((block, i) => {
    if (block?.type === 'text') {
      const text = String(block.text ?? '')
      output.push(outputItems.message(`msg_${message.id}_${i}`, text, 'completed', citationsOf(block, text)))
    } else if (block?.type === 'thinking' || block?.type === 'redacted_thinking') output.push(outputItems.reasoning(`rs_${message.id}_${i}`, block))
    else if (block?.type === 'tool_use') output.push(outputItems.functionCall({ id: block.id, ...names.called(String(block.name ?? '')) }, JSON.stringify(block.input ?? {})))
    else if (block?.type === 'server_tool_use' && block.name === 'web_search')
      output.push(outputItems.webSearchCall(String(block.id ?? ''), searchQuery(block.input), results.get(block.id)))
  })
  const incompleteReason = incompleteReasonOf(message.stop_reason)
  return responseObject(echo, {
    id: `resp_${message.id}`,
    model: message.model,
    createdAt: Math.floor(Date.now() / 1000),
    status: incompleteReason ? 'incomplete' : 'completed',
    incompleteReason,
    output,
    usage: usageOfMessage(anthropicUsage(message.usage)),
  })
}
