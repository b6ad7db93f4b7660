import { badRequest } from '../http/errors'
import { EmbeddedJson } from '../http/json-body'
import { tierSentOn } from '../pricing/features'
import { quoted, unsupported as refuse } from './unsupported'
import { base64SourceOf } from './media'
import { type ClientTurn, isBlank, refuseBlankFinalTurn, trimFinalAssistantText } from './anthropic-text'
import { anthropicToolId } from './anthropic-tool-id'
import { AnthropicTurns, escapeMarker, escapeMarkerIn, instructionsBlock, type AnthropicTurn } from './anthropic-turns'
import { historyToolInput } from './tool-arguments'
import { type EffortThinkingOptions, thinkingForEffort } from './effort-thinking'

type Json = Record<string, any>
type Block = Json

/** Anthropic requires `max_tokens`: a chat request without one gets `defaultMaxOutputTokens` (which the estimate used). */
export type ChatToMessagesOptions = EffortThinkingOptions

const unsupported = (where: string, what: string) => refuse('Anthropic', where, what)

const textOf = (content: unknown, where: string): string => {
  if (typeof content === 'string') return content
  if (content == null) return ''
  if (!Array.isArray(content)) throw badRequest(`Invalid body: ${where}: must be a string or an array of parts`)
  return content
    .map((part, j) => {
      if (part?.type === 'text' && typeof part.text === 'string') return part.text
      throw unsupported(`${where}[${j}]`, `a ${quoted(part?.type)} part`)
    })
    .join('\n')
}

function imageBlock(part: Json, where: string): Block {
  const url = typeof part.image_url === 'string' ? part.image_url : part.image_url?.url
  if (typeof url !== 'string' || url === '') throw badRequest(`Invalid body: ${where}.image_url.url: is required`)
  const inline = base64SourceOf(url)
  return { type: 'image', source: inline ?? { type: 'url', url } }
}

function fileBlock(part: Json, where: string): Block {
  const inline = typeof part.file?.file_data === 'string' ? base64SourceOf(part.file.file_data) : null
  if (!inline || inline.media_type !== 'application/pdf') throw unsupported(where, 'a file other than an inline PDF')
  return { type: 'document', source: inline, ...(typeof part.file.filename === 'string' ? { title: part.file.filename } : {}) }
}

const textBlocks = (text: string): Block[] => (isBlank(text) ? [] : [{ type: 'text', text }])

/** A user or assistant message's content as Anthropic blocks, blank text left out. */
function blocksOf(content: unknown, where: string): Block[] {
  if (typeof content === 'string') return textBlocks(content)
  if (content == null) return []
  if (!Array.isArray(content)) throw badRequest(`Invalid body: ${where}: must be a string or an array of parts`)
  return content.flatMap((part: Json, j): Block[] => {
    const at = `${where}[${j}]`
    switch (part?.type) {
      case 'text':
        return textBlocks(String(part.text ?? ''))
      case 'refusal':
        return textBlocks(String(part.refusal ?? ''))
      case 'image_url':
        return [imageBlock(part, at)]
      case 'file':
        return [fileBlock(part, at)]
      default:
        throw unsupported(at, `a ${quoted(part?.type)} part`)
    }
  })
}

function toolUseBlocks(toolCalls: unknown, where: string, embedded: EmbeddedJson): Block[] {
  if (!Array.isArray(toolCalls)) return []
  return toolCalls.map((call: Json, j) => {
    const at = `${where}[${j}]`
    if (call?.type !== undefined && call.type !== 'function') throw unsupported(at, `a ${quoted(call.type)} tool call`)
    const input = historyToolInput(call?.function?.arguments, `${at}.function.arguments`, embedded)
    return { type: 'tool_use', id: anthropicToolId(String(call?.id ?? '')), name: String(call?.function?.name ?? ''), input }
  })
}

function toolResultBlock(m: Json, where: string): Block {
  const content = typeof m.content === 'string' ? m.content : textOf(m.content, `${where}.content`)
  return { type: 'tool_result', tool_use_id: anthropicToolId(String(m.tool_call_id ?? '')), content: escapeMarker(content) }
}

function convertTools(tools: unknown): Json[] | undefined {
  if (!Array.isArray(tools)) return undefined
  return tools.map((tool: Json, i) => {
    if (tool?.type !== 'function' || !tool.function?.name) throw unsupported(`tools[${i}]`, `a ${quoted(tool?.type)} tool`)
    const f = tool.function
    return {
      name: f.name,
      ...(f.description ? { description: f.description } : {}),
      input_schema: f.parameters ?? { type: 'object', properties: {} },
      // Both APIs hold the call's input to the schema on `strict: true`; false is both defaults.
      ...(f.strict === true ? { strict: true } : {}),
    }
  })
}

function convertToolChoice(choice: unknown, parallel: unknown): Json | undefined {
  let out: Json | undefined
  if (choice === 'auto') out = { type: 'auto' }
  else if (choice === 'required') out = { type: 'any' }
  else if (choice === 'none') out = { type: 'none' }
  else if (choice && typeof choice === 'object' && (choice as Json).type === 'function') out = { type: 'tool', name: (choice as Json).function?.name }
  else if (choice != null) throw unsupported('tool_choice', 'this tool_choice')
  if (parallel === false && out?.type !== 'none') out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true }
  return out
}

/** Structured output: a JSON schema carries over; bare JSON mode has no Anthropic equivalent. */
function outputFormat(format: Json | null | undefined): Json | undefined {
  if (format == null || format.type === 'text') return undefined
  if (format.type === 'json_schema' && format.json_schema?.schema) return { type: 'json_schema', schema: format.json_schema.schema }
  throw unsupported('response_format', `the response_format ${quoted(format.type)}`)
}

/**
 * OpenAI fields that change the answer and have no Anthropic equivalent, each with the test of a value that
 * asks for something (a client sending a default, `frequency_penalty: 0`, asks for nothing and is served).
 * Hints that change nothing a client can check (`seed`, `store`, OpenAI's `metadata`) are not sent on, nor is
 * `service_tier` towards Claude (`tierSentOn`).
 */
const OPENAI_ONLY: ReadonlyArray<[field: string, asks: (v: any) => boolean, what: string]> = [
  ['logprobs', (v) => v === true, 'log probabilities'],
  ['top_logprobs', (v) => typeof v === 'number' && v > 0, 'log probabilities'],
  ['frequency_penalty', (v) => typeof v === 'number' && v !== 0, 'a frequency penalty'],
  ['presence_penalty', (v) => typeof v === 'number' && v !== 0, 'a presence penalty'],
  ['logit_bias', (v) => v != null && typeof v === 'object' && Object.keys(v).length > 0, 'a logit bias'],
  ['modalities', (v) => Array.isArray(v) && v.some((m) => m !== 'text'), 'an output modality other than text'],
  ['audio', (v) => v != null, 'audio output'],
  ['prediction', (v) => v != null, 'a predicted output'],
  ['web_search_options', (v) => v != null, "OpenAI's web search"],
]

/**
 * An OpenAI chat request as an Anthropic Messages request (without `model`: the caller sets the provider's
 * own id). System and developer messages before the first turn become `system`, later ones instructions where
 * they were said (`instructionsBlock`); tool calls become `tool_use` blocks and `tool` messages `tool_result`
 * blocks in a user turn; consecutive turns of one role are merged, as Anthropic wants them. Anything that has no Anthropic equivalent is refused with a 400 naming the field, rather
 * than dropped silently.
 */
export function chatRequestToMessages(body: Json, o: ChatToMessagesOptions): Json {
  if (typeof body.n === 'number' && body.n > 1) throw unsupported('n', 'more than one choice')
  if (body.functions !== undefined || body.function_call !== undefined) throw unsupported('functions', 'legacy function calling (use tools)')
  for (const [field, asks, what] of OPENAI_ONLY) if (asks(body[field])) throw unsupported(field, what)

  const system: string[] = []
  const turns = new AnthropicTurns()
  const append = (role: AnthropicTurn['role'], blocks: Block[]) => turns.append(role, blocks)
  const embedded = new EmbeddedJson()

  let last: ClientTurn | undefined
  const list: Json[] = Array.isArray(body.messages) ? body.messages : []
  list.forEach((m, i) => {
    const where = `messages[${i}]`
    if (m.role === 'assistant') last = { role: 'assistant', where: `${where}.content` }
    else if (m.role === 'user' || m.role === 'tool') last = { role: 'user', where: `${where}.content` }
    switch (m.role) {
      case 'system':
      case 'developer': {
        const text = textOf(m.content, `${where}.content`)
        if (isBlank(text)) break
        if (turns.isEmpty) system.push(text)
        else append('user', [instructionsBlock(text)])
        break
      }
      case 'user':
        append('user', blocksOf(m.content, `${where}.content`).map(escapeMarkerIn))
        break
      case 'assistant':
        append('assistant', [...blocksOf(m.content, `${where}.content`), ...toolUseBlocks(m.tool_calls, `${where}.tool_calls`, embedded)])
        break
      case 'tool':
        append('user', [toolResultBlock(m, where)])
        break
      default:
        throw unsupported(`${where}.role`, `the role ${quoted(m.role)}`)
    }
  })
  const messages = turns.finished()
  // OpenAI answers system messages alone, or a blank user message; Anthropic needs a message with content.
  if (messages.length === 0) throw unsupported('messages', 'a conversation with no user or assistant message but blank text')
  refuseBlankFinalTurn(last, messages)
  trimFinalAssistantText(messages)

  const tools = convertTools(body.tools)
  const toolChoice = convertToolChoice(body.tool_choice, body.parallel_tool_calls)
  const sentToolChoice = tools ? toolChoice : undefined
  const maxOutputTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined
  const thinking = thinkingForEffort(body.reasoning_effort, maxOutputTokens, { tool_choice: sentToolChoice, messages }, o)
  const out: Json = { max_tokens: thinking?.maxTokens ?? maxOutputTokens ?? o.defaultMaxOutputTokens, messages }
  if (system.length === 1) out.system = system[0]
  else if (system.length > 1) out.system = system.map((text) => ({ type: 'text', text }))
  if (body.stop != null) out.stop_sequences = Array.isArray(body.stop) ? body.stop : [body.stop]
  if (thinking) out.thinking = thinking.thinking
  // Anthropic refuses sampling settings with thinking on.
  else {
    if (typeof body.temperature === 'number') out.temperature = body.temperature
    // A top_p of 1 (OpenAI's default) cuts nothing, and Anthropic's recent models refuse top_p beside a temperature.
    if (typeof body.top_p === 'number' && body.top_p < 1) out.top_p = body.top_p
  }
  if (tools) out.tools = tools
  if (sentToolChoice) out.tool_choice = sentToolChoice
  const format = outputFormat(body.response_format)
  if (format || thinking?.effort) out.output_config = { ...(format && { format }), ...(thinking?.effort && { effort: thinking.effort }) }
  const tier = tierSentOn(body.service_tier, o.upstreamModel)
  if (tier !== undefined) out.service_tier = tier
  if (typeof body.user === 'string' && body.user) out.metadata = { user_id: body.user }
  if (body.stream === true) out.stream = true
  return out
}
