import { badRequest } from '../../http/errors'
import { quoted, unsupported as refuse } from '../unsupported'
import { splitTools } from './hosted-tools'
import type { FunctionNames } from './function-names'
import { inputItems, partsText, refuseStoredState } from './input-items'
import { openAIEndUserTag } from '../end-user-tag'
import { ChatMessages, chatToolOutput } from '../chat-messages'

type Json = Record<string, any>

interface ResponsesToChatOptions {
  /** The field that caps output at this provider (`max_tokens` or `max_completion_tokens`). */
  outputCapField: string
  /** Set: the output bound sent upstream whatever the request says (cap-output on). */
  outputCap?: number
}

const unsupported = (where: string, what: string) => refuse('OpenAI-compatible', where, what)

/** A user message's content (or a function call's output) as chat parts (a string stays a string). */
function userContent(content: unknown, where: string): string | Json[] {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) throw badRequest(`Invalid body: ${where}: must be a string or an array of parts`)
  return content.map((part: Json, j): Json => {
    const at = `${where}[${j}]`
    switch (part?.type) {
      case 'input_text':
      case 'output_text':
        return { type: 'text', text: String(part.text ?? '') }
      case 'input_image':
        if (typeof part.image_url !== 'string') throw unsupported(at, 'an image by file_id')
        return { type: 'image_url', image_url: { url: part.image_url, ...(part.detail ? { detail: part.detail } : {}) } }
      case 'input_file':
        if (typeof part.file_data !== 'string') throw unsupported(at, 'a file other than inline data')
        return { type: 'file', file: { file_data: part.file_data, ...(part.filename ? { filename: part.filename } : {}) } }
      default:
        throw unsupported(at, `a ${quoted(part?.type)} part`)
    }
  })
}

function textOnly(content: unknown, where: string): string {
  const text = partsText(content)
  if (text === null) throw unsupported(where, 'parts other than text here')
  return text
}

/**
 * A Responses request as a chat completions request, for OpenAI-compatible servers without `/responses`.
 * Items become messages (function calls an assistant's `tool_calls`, their outputs `tool` messages, and
 * the images and files in those outputs a user message after them);
 * reasoning items are dropped (the server cannot take them back); only function tools are sent (those of a
 * namespace under the names `names` gives them), the others returned in `dropped`. Usage is always asked for on
 * streams (the response events carry it).
 */
export function responsesRequestToChat(body: Json, o: ResponsesToChatOptions): { request: Json; dropped: string[]; names: FunctionNames } {
  refuseStoredState(body, 'A provider served through chat completions')
  const { functions, dropped, names } = splitTools(body.tools)
  const messages = new ChatMessages()
  if (typeof body.instructions === 'string' && body.instructions) messages.push({ role: 'system', content: body.instructions })

  inputItems(body.input).forEach((item, i) => {
    const where = `input[${i}]`
    const last = messages.last
    switch (item?.type) {
      case 'message':
        // `developer` is OpenAI's own name for system: the servers without a Responses API (vLLM, DeepSeek, Mistral,
        // llama.cpp…) know only system, user, assistant and tool, and refuse any other role.
        if (item.role === 'system' || item.role === 'developer') messages.push({ role: 'system', content: textOnly(item.content, `${where}.content`) })
        else if (item.role === 'user') messages.push({ role: 'user', content: userContent(item.content, `${where}.content`) })
        else if (item.role === 'assistant') messages.push({ role: 'assistant', content: textOnly(item.content, `${where}.content`) })
        else throw unsupported(`${where}.role`, `the role ${quoted(item.role)}`)
        break
      case 'function_call': {
        const call = { id: String(item.call_id ?? ''), type: 'function', function: { name: names.sentName(item), arguments: String(item.arguments ?? '{}') } }
        // Calls made in one turn go back as one assistant message.
        if (last?.role === 'assistant') (last.tool_calls ??= []).push(call)
        else messages.push({ role: 'assistant', content: null, tool_calls: [call] })
        break
      }
      case 'function_call_output': {
        const output = userContent(item.output, `${where}.output`)
        messages.pushToolResult(String(item.call_id ?? ''), typeof output === 'string' ? { text: output, media: [] } : chatToolOutput(output))
        break
      }
      case 'reasoning':
      case 'web_search_call':
        break // the reasoning and searches of an earlier turn have no place in a chat request
      default:
        throw unsupported(where, `a ${quoted(item?.type)} item`)
    }
  })

  const out: Json = { messages: messages.done() }
  const max = o.outputCap ?? body.max_output_tokens
  if (typeof max === 'number') out[o.outputCapField] = max
  for (const field of ['temperature', 'top_p'] as const) if (body[field] != null) out[field] = body[field]
  if (typeof body.reasoning?.effort === 'string') out.reasoning_effort = body.reasoning.effort
  if (functions.length > 0) {
    out.tools = functions.map((f) => ({
      type: 'function',
      function: { name: f.name, ...(f.description ? { description: f.description } : {}), parameters: f.parameters ?? { type: 'object', properties: {} }, ...(f.strict != null ? { strict: f.strict } : {}) },
    }))
    const choice = body.tool_choice
    if (choice === 'auto' || choice === 'none' || choice === 'required') out.tool_choice = choice
    else if (choice?.type === 'function') out.tool_choice = { type: 'function', function: { name: names.chosenName(choice.name) } }
    else if (choice?.type === 'allowed_tools') out.tool_choice = allowedToolsChoice(choice, names)
    // Only beside tools: OpenAI refuses `parallel_tool_calls` on a request without any (400), as when every tool
    // the client sent was a hosted one, dropped here.
    if (body.parallel_tool_calls != null) out.parallel_tool_calls = body.parallel_tool_calls
  }
  const format = body.text?.format
  if (format?.type === 'json_schema') out.response_format = { type: 'json_schema', json_schema: { name: format.name ?? 'response', schema: format.schema, ...(format.strict != null ? { strict: format.strict } : {}) } }
  else if (format?.type === 'json_object') out.response_format = { type: 'json_object' }
  const endUser = body.user ?? body.safety_identifier
  if (typeof endUser === 'string' && endUser) out.user = openAIEndUserTag(endUser)
  if (body.stream === true) {
    out.stream = true
    out.stream_options = { include_usage: true }
  }
  return { request: out, dropped, names }
}

/**
 * `allowed_tools` in chat's own form, its functions named as chat names them. Hosted tools are not sent: when
 * the list allows only those, the model may call none of the tools that are.
 */
function allowedToolsChoice(choice: Json, names: FunctionNames): Json | string {
  const allowed = Array.isArray(choice.tools) ? (choice.tools as Json[]).filter((t) => t?.type === 'function') : []
  if (allowed.length === 0) return 'none'
  return { type: 'allowed_tools', allowed_tools: { mode: choice.mode, tools: allowed.map((t) => ({ type: 'function', function: { name: names.chosenName(t.name) } })) } }
}
