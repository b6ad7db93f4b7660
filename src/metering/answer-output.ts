/**
 * Whether a provider's JSON answer carries output the model generated: text, a refusal, a tool call, a
 * thinking or reasoning block, audio — in any of the three answer formats (a chat completion, an Anthropic
 * message, a Responses response). Embeddings and moderations carry none.
 */
export function answerCarriesOutput(answer: object): boolean {
  if (!isObject(answer)) return false
  if (Array.isArray(answer.choices)) return answer.choices.some((choice) => isObject(choice) && messageCarriesOutput(choice.message))
  if (answer.type === 'message' && Array.isArray(answer.content)) return answer.content.some(isOutputBlock)
  if (answer.object === 'response' && Array.isArray(answer.output)) return answer.output.some(isOutputItem)
  return false
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null

const hasText = (v: unknown): boolean =>
  (typeof v === 'string' && v.length > 0) || (Array.isArray(v) && v.some((part) => isObject(part) && hasText(part.text)))

/** A chat message: anything beside its role and an empty content is output. */
function messageCarriesOutput(message: unknown): boolean {
  if (!isObject(message)) return false
  if (hasText(message.content) || hasText(message.refusal) || hasText(message.reasoning_content) || hasText(message.reasoning)) return true
  if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) return true
  return isObject(message.function_call) || isObject(message.audio)
}

/** An Anthropic content block: every block but an empty text one. */
const isOutputBlock = (block: unknown): boolean => isObject(block) && (block.type !== 'text' || hasText(block.text))

/** A Responses output item: every item but a message whose parts carry no text. */
const isOutputItem = (item: unknown): boolean =>
  isObject(item) &&
  (item.type !== 'message' || (Array.isArray(item.content) && item.content.some((part) => isObject(part) && (hasText(part.text) || hasText(part.refusal)))))
