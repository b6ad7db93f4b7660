import { generatedBytes } from './generated-output'

/**
 * Whether a provider's JSON answer carries output the model generated, in any of the three answer formats (a
 * chat completion, an Anthropic message, a Responses response), counted as the stream meter counts a delta:
 * any generated string but the framing (`generatedBytes`: text, refusals, reasoning and its encrypted forms,
 * tool names and arguments, images, audio, citations, fields that do not exist yet). Embeddings and
 * moderations carry none.
 */
export function answerCarriesOutput(answer: object): boolean {
  if (!isObject(answer)) return false
  if (Array.isArray(answer.choices)) return answer.choices.some((choice) => isObject(choice) && generatedBytes(choice.message) > 0)
  if (answer.type === 'message') return generatedBytes(answer.content) > 0
  // A Responses answer by its `output` list, not its `object`: compatible servers leave that out. The formats
  // before it are told first, so a chat answer with an `output` field of its own is read by its choices.
  if (Array.isArray(answer.output)) return answer.output.some(isOutputItem)
  return false
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null

/**
 * A Responses output item: every item but a message whose parts generated nothing (an item's `status`, a
 * string every item has, is no output).
 */
const isOutputItem = (item: unknown): boolean => isObject(item) && (item.type !== 'message' || generatedBytes(item.content) > 0)
