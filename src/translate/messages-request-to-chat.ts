import { badRequest, threadRefused } from '../http/errors'
import { quoted, unsupported as refuse } from './unsupported'
import { dataUrlOf } from './media'
import { ChatMessages, chatToolOutput, type ChatToolOutput } from './chat-messages'
import { openAIEndUserTag } from './end-user-tag'
import { fitsOpenAIStrict } from './openai-strict-schema'

type Json = Record<string, any>

interface MessagesToChatOptions {
  /** The field that caps output for this OpenAI-compatible provider (`max_tokens` or `max_completion_tokens`). */
  outputCapField: string
  /** The provider takes `reasoning_effort`: Anthropic's thinking settings map to it (otherwise they are dropped). */
  reasoningEffort?: boolean
}

/**
 * Anthropic's reasoning settings as OpenAI's `reasoning_effort`: `output_config.effort` as it is, else an
 * enabled thinking budget by its size. Adaptive thinking leaves the provider's default; disabled, nothing.
 */
function reasoningEffort(body: Json): string | undefined {
  const effort = body.output_config?.effort
  if (effort === 'low' || effort === 'medium' || effort === 'high') return effort
  if (effort === 'max') return 'high'
  const budget = body.thinking?.type === 'enabled' ? body.thinking.budget_tokens : undefined
  if (typeof budget !== 'number') return undefined
  return budget < 4096 ? 'low' : budget < 16_384 ? 'medium' : 'high'
}

const unsupported = (where: string, what: string) => refuse('OpenAI-compatible', where, what)

/** Anthropic `system` (a string or text blocks) as one string. */
function systemText(system: unknown): string {
  if (typeof system === 'string') return system
  if (!Array.isArray(system)) return ''
  return system.map((b: Json, i) => {
    if (b?.type === 'text' && typeof b.text === 'string') return b.text
    throw unsupported(`system[${i}]`, `a ${quoted(b?.type)} block`)
  }).join('\n')
}

function mediaPart(block: Json, where: string): Json {
  const source = block.source ?? {}
  if (block.type === 'image') {
    if (source.type === 'base64') return { type: 'image_url', image_url: { url: dataUrlOf(source) } }
    if (source.type === 'url') return { type: 'image_url', image_url: { url: source.url } }
  } else if (source.type === 'text') {
    return { type: 'text', text: String(source.data ?? '') }
  } else if (source.type === 'base64' && source.media_type === 'application/pdf') {
    return { type: 'file', file: { filename: typeof block.title === 'string' ? block.title : 'document.pdf', file_data: dataUrlOf(source) } }
  }
  throw unsupported(where, `a ${quoted(block.type)} block with a ${quoted(source.type)} source`)
}

/**
 * What Anthropic passes to the model beside a document's source, its title and context, as a text part to go
 * before it (an OpenAI part carries neither). Citations of the document have no OpenAI equivalent: refused.
 */
function documentNotes(block: Json, where: string): Json[] {
  if (block.citations?.enabled === true) throw unsupported(`${where}.citations`, 'citations of a document')
  const notes: string[] = []
  if (typeof block.title === 'string' && block.title) notes.push(`Document title: ${block.title}`)
  if (typeof block.context === 'string' && block.context) notes.push(`Document context: ${block.context}`)
  return notes.length > 0 ? [{ type: 'text', text: notes.join('\n') }] : []
}

/** A block of a user turn or a tool result as chat parts (a document: its notes, then its source). */
function userParts(block: Json, where: string): Json[] {
  switch (block?.type) {
    case 'text':
      return [{ type: 'text', text: String(block.text ?? '') }]
    case 'image':
      return [mediaPart(block, where)]
    case 'document':
      return [...documentNotes(block, where), mediaPart(block, where)]
    default:
      throw unsupported(where, `a ${quoted(block?.type)} block`)
  }
}

/** A user turn's blocks: tool results become `tool` messages (which must come first), the rest one user message. */
function pushUserTurn(messages: ChatMessages, content: unknown, where: string): void {
  if (typeof content === 'string') return messages.push({ role: 'user', content })
  if (!Array.isArray(content)) throw badRequest(`Invalid body: ${where}: must be a string or an array of blocks`)
  const parts: Json[] = []
  content.forEach((block: Json, j) => {
    const at = `${where}[${j}]`
    if (block?.type === 'tool_result') messages.pushToolResult(String(block.tool_use_id ?? ''), toolOutput(block, at))
    else parts.push(...userParts(block, at))
  })
  if (parts.length > 0) messages.push({ role: 'user', content: parts })
}

function toolOutput(block: Json, where: string): ChatToolOutput {
  const output = typeof block.content === 'string'
    ? { text: block.content, media: [] }
    : chatToolOutput((Array.isArray(block.content) ? block.content : []).flatMap((b: Json, k: number) => userParts(b, `${where}.content[${k}]`)))
  // OpenAI has no error flag on a tool result: say it in the text, where the model will read it.
  return block.is_error === true ? { ...output, text: output.text ? `Error: ${output.text}` : 'Error:' } : output
}

function assistantMessage(content: unknown, where: string): Json {
  if (typeof content === 'string') return { role: 'assistant', content }
  if (!Array.isArray(content)) throw badRequest(`Invalid body: ${where}: must be a string or an array of blocks`)
  let text = ''
  const toolCalls: Json[] = []
  content.forEach((block: Json, j) => {
    if (block?.type === 'text') text += String(block.text ?? '')
    else if (block?.type === 'tool_use')
      toolCalls.push({ id: String(block.id ?? ''), type: 'function', function: { name: String(block.name ?? ''), arguments: JSON.stringify(block.input ?? {}) } })
    else if (block?.type !== 'thinking' && block?.type !== 'redacted_thinking') // the other model's reasoning means nothing here
      throw unsupported(`${where}[${j}]`, `a ${quoted(block?.type)} block`)
  })
  const message: Json = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text }
  if (toolCalls.length > 0) message.tool_calls = toolCalls
  return message
}

function convertTools(tools: unknown): Json[] | undefined {
  if (!Array.isArray(tools)) return undefined
  return tools.map((tool: Json, i) => {
    // Custom tools have no `type` (or `custom`); Anthropic's server tools (web search, bash…) run only there.
    if (tool?.type !== undefined && tool.type !== 'custom') throw unsupported(`tools[${i}]`, `the server tool ${quoted(tool.type)}`)
    return {
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description ? { description: tool.description } : {}),
        parameters: tool.input_schema ?? { type: 'object', properties: {} },
        // Both APIs hold the call's input to the schema on `strict: true` (false is both defaults), but OpenAI's
        // refuses a schema Anthropic's takes (an optional property): such a tool goes as it did before, loose.
        ...(tool.strict === true && fitsOpenAIStrict(tool.input_schema) ? { strict: true } : {}),
      },
    }
  })
}

function convertToolChoice(choice: Json | undefined): unknown {
  if (!choice) return undefined
  switch (choice.type) {
    case 'auto': return 'auto'
    case 'any': return 'required'
    case 'none': return 'none'
    case 'tool': return { type: 'function', function: { name: choice.name } }
    default: throw unsupported('tool_choice', `the tool_choice ${quoted(choice.type)}`)
  }
}

/**
 * An Anthropic Messages request as an OpenAI chat request (without `model`: the caller sets the provider's
 * own id). `system` becomes the first message, blocks become parts, `tool_use`/`tool_result` become tool
 * calls and `tool` messages (a result's images and documents a user message after them). A stream always asks for usage: the gateway bills from it. What OpenAI cannot
 * honour is dropped, not refused, since Claude Code sends it on every request: `anthropic-beta` flags,
 * `context_management` (server-side context editing: the history goes whole), `output_config` other than
 * its format and effort, and `thinking` where the provider has no `reasoning_effort`. A `top_k` of 1 or more
 * (OpenAI's API has none; Claude Code does not send it) is refused. A `thread` is refused, `create` too: a chat provider keeps
 * no conversation, so a later `continue` would reach it as its new messages alone (a tool result without the
 * call, question, system prompt or tools before it).
 */
export function messagesRequestToChat(body: Json, o: MessagesToChatOptions): Json {
  if (body.thread !== undefined && body.thread !== null)
    throw threadRefused(
      'Invalid body: thread: a message thread cannot be kept by a model served by an OpenAI-compatible provider: send the whole conversation as messages, without thread.',
      'feature_unsupported',
    )
  // LangChain's older ChatAnthropic sends `top_k: -1` and `top_p: -1` on every request, meaning "off" (the
  // convention of Anthropic's first API): they ask for nothing, and only a real value is refused or sent.
  if (typeof body.top_k === 'number' && body.top_k >= 1) throw unsupported('top_k', 'sampling among the top k tokens')
  const messages = new ChatMessages()
  const system = systemText(body.system)
  if (system) messages.push({ role: 'system', content: system })
  const list: Json[] = Array.isArray(body.messages) ? body.messages : []
  list.forEach((m, i) => {
    const where = `messages[${i}].content`
    if (m.role === 'user') pushUserTurn(messages, m.content, where)
    else if (m.role === 'assistant') messages.push(assistantMessage(m.content, where))
    else if (m.role === 'system') messages.push({ role: 'system', content: systemText(m.content) })
    else throw unsupported(`messages[${i}].role`, `the role ${quoted(m.role)}`)
  })

  const out: Json = { messages: messages.done(), [o.outputCapField]: body.max_tokens }
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) out.stop = body.stop_sequences
  if (typeof body.temperature === 'number') out.temperature = body.temperature
  if (typeof body.top_p === 'number' && body.top_p >= 0) out.top_p = body.top_p
  const tools = convertTools(body.tools)
  if (tools) {
    out.tools = tools
    const choice = convertToolChoice(body.tool_choice)
    if (choice !== undefined) out.tool_choice = choice
    if (body.tool_choice?.disable_parallel_tool_use === true) out.parallel_tool_calls = false
  }
  const format = body.output_config?.format
  // Anthropic's format always constrains the answer to the schema; OpenAI's does so only when strict, and
  // refuses strict for a schema outside its subset (an optional property), which then goes loose as before.
  if (format?.type === 'json_schema')
    out.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, ...(fitsOpenAIStrict(format.schema) ? { strict: true } : {}) } }
  if (o.reasoningEffort) {
    const effort = reasoningEffort(body)
    if (effort) out.reasoning_effort = effort
  }
  if (typeof body.metadata?.user_id === 'string' && body.metadata.user_id) out.user = openAIEndUserTag(body.metadata.user_id)
  if (body.stream === true) {
    out.stream = true
    out.stream_options = { include_usage: true }
  }
  return out
}
