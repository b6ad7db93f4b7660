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
 * A reasoning item sent back by its id alone, without its `encrypted_content` (`{type: "reasoning", id, summary: []}`,
 * as the OpenAI Agents SDK and the AI SDK send a stored response's output back; the AI SDK with `encrypted_content:
 * null`). OpenAI looks the id up among the items it stored and puts their hidden reasoning in the context again,
 * billed as input: it names a stored item as an `item_reference` does. With its `encrypted_content`, the provider
 * reads that instead, which is in the body.
 */
export const isReasoningById = (item: Json) =>
  item?.type === 'reasoning' && typeof item.id === 'string' && !(typeof item.encrypted_content === 'string' && item.encrypted_content !== '')

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
