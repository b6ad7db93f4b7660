import { badRequest } from '../../http/errors'
import { EmbeddedJson } from '../../http/json-body'
import { responsesBilledTool, tierSentOn } from '../../pricing/features'
import { base64SourceOf } from '../media'
import { type ClientTurn, isBlank, refuseBlankFinalTurn, trimFinalAssistantText } from '../anthropic-text'
import { anthropicToolId } from '../anthropic-tool-id'
import { AnthropicTurns, escapeMarker, escapeMarkerIn, instructionsBlock, type AnthropicTurn } from '../anthropic-turns'
import { historyToolInput } from '../tool-arguments'
import { type EffortThinkingOptions, thinkingForEffort } from '../effort-thinking'
import { quoted, unsupported as refuse } from '../unsupported'
import { splitTools } from './hosted-tools'
import type { FunctionNames } from './function-names'
import { inputItems, partsText, refuseStoredState } from './input-items'
import { carriedThinking } from './reasoning-carrier'

type Json = Record<string, any>
type Block = Json

export interface ResponsesToMessagesOptions extends EffortThinkingOptions {
  /** The target's web search is priced: a Responses `web_search` tool becomes Anthropic's web search server tool instead of being dropped. */
  webSearch?: boolean
}

const unsupported = (where: string, what: string) => refuse('Anthropic', where, what)

function imageBlock(part: Json, where: string): Block {
  const url = typeof part.image_url === 'string' ? part.image_url : undefined
  if (!url) throw unsupported(where, 'an image by file_id')
  return { type: 'image', source: base64SourceOf(url) ?? { type: 'url', url } }
}

function fileBlock(part: Json, where: string): Block {
  const title = typeof part.filename === 'string' ? { title: part.filename } : {}
  if (typeof part.file_url === 'string') return { type: 'document', source: { type: 'url', url: part.file_url }, ...title }
  const inline = typeof part.file_data === 'string' ? base64SourceOf(part.file_data) : null
  if (!inline || inline.media_type !== 'application/pdf') throw unsupported(where, 'a file other than an inline PDF or a file_url')
  return { type: 'document', source: inline, ...title }
}

const textBlocks = (text: string): Block[] => (isBlank(text) ? [] : [{ type: 'text', text }])

/** A message's content (or a tool result's output) as Anthropic blocks, blank text left out. */
function blocksOf(content: unknown, where: string): Block[] {
  if (typeof content === 'string') return textBlocks(content)
  if (content == null) return []
  if (!Array.isArray(content)) throw badRequest(`Invalid body: ${where}: must be a string or an array of parts`)
  return content.flatMap((part: Json, j): Block[] => {
    const at = `${where}[${j}]`
    switch (part?.type) {
      case 'input_text':
      case 'output_text':
        return textBlocks(String(part.text ?? ''))
      case 'refusal':
        return textBlocks(String(part.refusal ?? ''))
      case 'input_image':
        return [imageBlock(part, at)]
      case 'input_file':
        return [fileBlock(part, at)]
      default:
        throw unsupported(at, `a ${quoted(part?.type)} part`)
    }
  })
}

function toolUseBlock(item: Json, where: string, names: FunctionNames, embedded: EmbeddedJson): Block {
  const input = historyToolInput(item.arguments, `${where}.arguments`, embedded)
  return { type: 'tool_use', id: anthropicToolId(String(item.call_id ?? '')), name: names.sentName(item), input }
}

function toolResultBlock(item: Json, where: string): Block {
  const output = item.output
  const content = typeof output === 'string' ? escapeMarker(output) : blocksOf(output, `${where}.output`).map(escapeMarkerIn)
  return { type: 'tool_result', tool_use_id: anthropicToolId(String(item.call_id ?? '')), content }
}

function convertTools(functions: Json[]): Json[] {
  return functions.map((f) => ({
    name: f.name,
    ...(f.description ? { description: f.description } : {}),
    input_schema: f.parameters ?? { type: 'object', properties: {} },
  }))
}

/** Whose turn an input item is part of (none for a system message). */
function clientTurnOf(item: Json | undefined): 'user' | 'assistant' | undefined {
  switch (item?.type) {
    case 'message':
      return item.role === 'user' || item.role === 'assistant' ? item.role : undefined
    case 'function_call_output':
      return 'user'
    case 'function_call':
    case 'reasoning':
    case 'web_search_call':
      return 'assistant'
  }
  return undefined
}

const isWebSearch = (tool: Json | undefined) => responsesBilledTool(tool?.type) === 'web_search'

/**
 * Anthropic's web search server tool for a Responses `web_search` tool: the same user location and
 * allowed domains, at most `max_tool_calls` searches (unset: admission injects the configured default).
 */
function webSearchTool(tool: Json, maxToolCalls: unknown): Json {
  const out: Json = { type: 'web_search_20250305', name: 'web_search' }
  if (typeof maxToolCalls === 'number') out.max_uses = maxToolCalls
  const domains = tool.filters?.allowed_domains
  if (Array.isArray(domains) && domains.length > 0) out.allowed_domains = domains
  const location = tool.user_location
  if (location && typeof location === 'object') {
    out.user_location = { type: 'approximate' }
    for (const field of ['city', 'region', 'country', 'timezone'] as const)
      if (typeof location[field] === 'string') out.user_location[field] = location[field]
  }
  return out
}

function convertToolChoice(choice: unknown, parallel: unknown, webSearch: boolean, names: FunctionNames): Json | undefined {
  let out: Json | undefined
  if (choice === 'auto') out = { type: 'auto' }
  else if (choice === 'required') out = { type: 'any' }
  else if (choice === 'none') out = { type: 'none' }
  else if (choice && typeof choice === 'object' && (choice as Json).type === 'function') out = { type: 'tool', name: names.chosenName((choice as Json).name) }
  else if (webSearch && isWebSearch(choice as Json)) out = { type: 'tool', name: 'web_search' }
  // Anthropic has no such restriction; as auto over every tool it would be lost without a word (as chat → Anthropic, refused).
  else if ((choice as Json | null)?.type === 'allowed_tools') throw unsupported('tool_choice', 'an "allowed_tools" tool_choice')
  else if (choice != null) out = { type: 'auto' } // a hosted tool's choice: that tool was not sent
  if (parallel === false && out?.type !== 'none') out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true }
  return out
}

function outputFormat(text: Json | null | undefined): Json | undefined {
  const format = text?.format
  if (format == null || format.type === 'text') return undefined
  if (format.type === 'json_schema' && format.schema) return { type: 'json_schema', schema: format.schema }
  throw unsupported('text.format', `the format ${quoted(format.type)}`)
}

/**
 * A Responses request as an Anthropic Messages request (without `model`: the caller sets the provider's
 * own id). Instructions and system/developer messages before the first turn become `system`, later ones
 * instructions where they were said (`instructionsBlock`); function calls become `tool_use`
 * blocks and their outputs `tool_result` blocks; reasoning items that carry Claude's thinking go back as
 * the very blocks Claude sent (others are dropped); turns of one role are merged, as Anthropic wants.
 * Function tools are sent (those of a namespace under the names `names` gives them), and web search as Anthropic's server tool when `webSearch` says it is priced
 * (the searches of earlier turns are not sent back: their answers are); the hosted tools not sent are
 * returned in `dropped`.
 */
export function responsesRequestToMessages(body: Json, o: ResponsesToMessagesOptions): { request: Json; dropped: string[]; names: FunctionNames } {
  refuseStoredState(body, 'A model served by an Anthropic provider')
  if (typeof body.top_logprobs === 'number' && body.top_logprobs > 0) throw unsupported('top_logprobs', 'log probabilities')

  const system: string[] = typeof body.instructions === 'string' && !isBlank(body.instructions) ? [body.instructions] : []
  const { functions, dropped, names } = splitTools(body.tools)
  const turns = new AnthropicTurns()
  const append = (role: AnthropicTurn['role'], blocks: Block[]) => turns.append(role, blocks)
  const embedded = new EmbeddedJson()

  let last: ClientTurn | undefined
  inputItems(body.input).forEach((item, i) => {
    const where = `input[${i}]`
    const role = clientTurnOf(item)
    if (role) last = { role, where: `${where}.content` }
    switch (item?.type) {
      case 'message':
        if (item.role === 'system' || item.role === 'developer') {
          const text = partsText(item.content)
          if (text === null) throw unsupported(`${where}.content`, 'a system message with parts other than text')
          if (!isBlank(text)) {
            if (turns.isEmpty) system.push(text)
            else append('user', [instructionsBlock(text)])
          }
        } else if (item.role === 'user') append('user', blocksOf(item.content, `${where}.content`).map(escapeMarkerIn))
        else if (item.role === 'assistant') append('assistant', blocksOf(item.content, `${where}.content`))
        else throw unsupported(`${where}.role`, `the role ${quoted(item.role)}`)
        break
      case 'function_call':
        append('assistant', [toolUseBlock(item, where, names, embedded)])
        break
      case 'function_call_output':
        append('user', [toolResultBlock(item, where)])
        break
      case 'reasoning': {
        const thinking = carriedThinking(item.encrypted_content, `${where}.encrypted_content`, embedded)
        if (thinking) append('assistant', [thinking])
        break
      }
      case 'web_search_call':
        break
      default:
        throw unsupported(where, `a ${quoted(item?.type)} item`)
    }
  })
  const messages = turns.finished()
  // OpenAI answers instructions alone, or a blank user message; Anthropic needs a message with content.
  if (messages.length === 0) throw unsupported('input', 'a conversation with no user or assistant message but blank text')
  refuseBlankFinalTurn(last, messages)
  trimFinalAssistantText(messages)

  const search = o.webSearch && Array.isArray(body.tools) ? body.tools.find(isWebSearch) : undefined
  const tools = [...convertTools(functions), ...(search ? [webSearchTool(search, body.max_tool_calls)] : [])]
  const toolChoice = tools.length > 0 ? convertToolChoice(body.tool_choice, body.parallel_tool_calls, search !== undefined, names) : undefined
  const thinking = thinkingForEffort(body.reasoning?.effort, body.max_output_tokens ?? undefined, { tool_choice: toolChoice, messages }, o)
  const out: Json = { max_tokens: thinking?.maxTokens ?? body.max_output_tokens ?? o.defaultMaxOutputTokens, messages }
  if (system.length === 1) out.system = system[0]
  else if (system.length > 1) out.system = system.map((text) => ({ type: 'text', text }))
  if (thinking) out.thinking = thinking.thinking
  // Anthropic refuses sampling settings with thinking on.
  else {
    if (typeof body.temperature === 'number') out.temperature = body.temperature
    // A top_p of 1 (OpenAI's default) cuts nothing, and Anthropic's recent models refuse top_p beside a temperature.
    if (typeof body.top_p === 'number' && body.top_p < 1) out.top_p = body.top_p
  }
  if (tools.length > 0) {
    out.tools = tools
    if (toolChoice) out.tool_choice = toolChoice
  }
  const format = outputFormat(body.text)
  if (format || thinking?.effort) out.output_config = { ...(format && { format }), ...(thinking?.effort && { effort: thinking.effort }) }
  const tier = tierSentOn(body.service_tier, o.upstreamModel)
  if (tier !== undefined) out.service_tier = tier
  const endUser = body.user ?? body.safety_identifier
  if (typeof endUser === 'string' && endUser) out.metadata = { user_id: endUser }
  if (body.stream === true) out.stream = true
  return { request: out, dropped: search ? dropped.filter((type) => responsesBilledTool(type) !== 'web_search') : dropped, names }
}

/** The fields of a Messages request that Anthropic's `count_tokens` takes. */
const COUNTED_FIELDS = ['system', 'messages', 'tools', 'tool_choice', 'thinking'] as const

/** A Responses request's input side as an Anthropic `count_tokens` request (without `model`). */
export function responsesToCountTokens(body: Json, o: ResponsesToMessagesOptions): Json {
  const { request } = responsesRequestToMessages({ ...body, stream: false }, o)
  const out: Json = {}
  for (const field of COUNTED_FIELDS) if (request[field] !== undefined) out[field] = request[field]
  return out
}
