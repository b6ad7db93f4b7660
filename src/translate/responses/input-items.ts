import { badRequest } from '../../http/errors'

type Json = Record<string, any>

/** `input` as a list of items: a string is one user message; a message item may omit its `type`. */
export function inputItems(input: unknown): Json[] {
  if (input == null) return []
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }]
  if (!Array.isArray(input)) throw badRequest('Invalid body: input: must be a string or an array of items')
  return input.map((item: Json) => (item && item.type === undefined && typeof item.role === 'string' ? { ...item, type: 'message' } : item))
}

/** An item by reference: `{type: "item_reference", id}`, or an id alone (its type is optional in the API). */
export const isItemReference = (item: Json) =>
  item?.type === 'item_reference' || (item != null && item.type == null && item.role === undefined && typeof item.id === 'string')

/**
 * The field that carries an item's content, by type: the provider reads it from the body when it is there,
 * and from the item it stored under the id when it is not. For a tool call that is what the tool brought back
 * (a generated image, code interpreter or MCP output, file search results), or for a call the client runs,
 * what the model wrote. A reasoning item has two (`carriesReasoning`).
 */
const CONTENT_FIELD: Readonly<Record<string, string>> = {
  message: 'content',
  function_call: 'arguments',
  custom_tool_call: 'input',
  mcp_approval_request: 'arguments',
  computer_call: 'action',
  local_shell_call: 'action',
  shell_call: 'action',
  apply_patch_call: 'operation',
  web_search_call: 'action',
  file_search_call: 'results',
  code_interpreter_call: 'outputs',
  image_generation_call: 'result',
  mcp_call: 'output',
  mcp_list_tools: 'tools',
  function_call_output: 'output',
  custom_tool_call_output: 'output',
  computer_call_output: 'output',
  local_shell_call_output: 'output',
  shell_call_output: 'output',
  apply_patch_call_output: 'output',
}

/**
 * The fields of an item that OpenAI returns only when the request lists them in `include`
 * (`file_search_call.results`, `code_interpreter_call.outputs`, `web_search_call.results`), but keeps with the
 * stored item either way: named later, the item comes back into the context with them.
 */
const INCLUDED_ON_REQUEST: Readonly<Record<string, string>> = {
  file_search_call: 'results',
  code_interpreter_call: 'outputs',
  web_search_call: 'results',
}

/** An output item returned without the tool results the provider stored with it: its size is not in its JSON. */
export function resultsLeftOut(item: Json): boolean {
  const type = item?.type
  return typeof type === 'string' && Object.hasOwn(INCLUDED_ON_REQUEST, type) && item[INCLUDED_ON_REQUEST[type]!] == null
}

/** Fields that carry no content: an item of another type with only these names a stored one. */
const BARE_FIELDS = new Set(['type', 'id', 'status'])

/**
 * Whether a reasoning item carries the reasoning the model reads again: OpenAI's hidden reasoning as
 * `encrypted_content`, or an open-weight reasoning model's (gpt-oss on vLLM, Ollama, LM Studio) as
 * `reasoning_text` parts in its `content`, which Codex and the Agents SDK send back with `store: false`. Its
 * summary is not that reasoning: OpenAI sends a summary with every reasoning item and reads the hidden
 * reasoning it stored under the id.
 */
const carriesReasoning = (item: Json): boolean =>
  (item.encrypted_content != null && item.encrypted_content !== '') ||
  (Array.isArray(item.content) && item.content.some((part: Json) => part?.type === 'reasoning_text' && typeof part.text === 'string' && part.text !== ''))

/**
 * A reasoning item whose stored reasoning the provider may read under its id: one without `encrypted_content`.
 * With only `reasoning_text` parts it is sent with its content (an open-weight server's, which the gateway never
 * recorded, is not refused), but an id the gateway recorded names hidden reasoning the provider keeps: it is held.
 */
export const mayReadStoredReasoning = (item: Json): boolean =>
  item?.type === 'reasoning' && typeof item.id === 'string' && (item.encrypted_content == null || item.encrypted_content === '')

/**
 * A typed item sent back by its id without its content (`{type: "image_generation_call", id}` as OpenAI's
 * image generation guide sends a picture back for editing, `{type: "reasoning", id, summary: []}` as the
 * Agents SDK and the AI SDK send a stored response's output back). OpenAI looks the id up among the items it
 * stored and puts their content in the context again, billed as input: it names a stored item as an
 * `item_reference` does. With its content, the provider reads that instead, which is in the body.
 */
export function isItemById(item: Json): boolean {
  if (item == null || typeof item !== 'object' || typeof item.id !== 'string') return false
  const type = item.type ?? (item.role !== undefined ? 'message' : undefined)
  if (type === 'reasoning') return !carriesReasoning(item)
  const field = typeof type === 'string' && Object.hasOwn(CONTENT_FIELD, type) ? CONTENT_FIELD[type]! : undefined
  if (field === undefined) return Object.keys(item).every((key) => BARE_FIELDS.has(key))
  const content = item[field]
  // An empty string is content (a tool may return nothing), except a generated image, which only the provider writes.
  return content == null || (content === '' && field === 'result')
}

/**
 * A translated target keeps no state: a request that needs the provider's stored state (an earlier
 * response, a conversation, a stored prompt, an item by reference) cannot be served there.
 */
export function refuseStoredState(body: Json, target: string): void {
  const needs = (field: string) => badRequest(
    `Invalid body: ${field}: ${target} keeps no stored state; send the whole conversation as input (and store: false).`,
    'stored_state_unsupported',
  )
  if (body.previous_response_id != null) throw needs('previous_response_id')
  if (body.conversation != null) throw needs('conversation')
  if (body.prompt != null) throw needs('prompt')
  const items = Array.isArray(body.input) ? body.input : []
  const ref = items.findIndex(isItemReference)
  if (ref >= 0) throw needs(`input[${ref}]`)
}

/**
 * A stored prompt template (`prompt: {id}`) is kept by the provider and its size is unknown to the gateway,
 * so a request naming one is refused before any hold. (An earlier response, a conversation and the items of
 * a response's output are different: the gateway recorded their sizes, see routes/responses.ts.)
 */
export function refuseStoredPrompt(body: Json): void {
  if (body.prompt != null)
    throw badRequest(
      'Invalid body: prompt: a stored prompt is kept by the provider and its size is not known to the gateway, so its cost cannot be held; send its content as input instead.',
      'unsized_stored_input',
    )
}

/** Text of a message's content: a string, or its text parts (input, output, refusal). */
export function partsText(content: unknown): string | null {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return null
  let text = ''
  for (const part of content) {
    if (part?.type === 'input_text' || part?.type === 'output_text') text += String(part.text ?? '')
    else if (part?.type === 'refusal') text += String(part.refusal ?? '')
    else return null
  }
  return text
}
