/**
 * A translated answer's tool call id: the provider's when it is a non-empty string, else one made up from the
 * answer's id and the call's place among its calls, alike in a JSON answer and a stream. The client names the call
 * by it when it sends the result back (Anthropic's `tool_use_id`, Responses' `call_id`), so it must be there and
 * unique in the thread: an answer without an id has a random one in its place.
 */
export function toolCallId(given: unknown, prefix: 'toolu' | 'call', answerId: unknown, position: number): string {
  if (typeof given === 'string' && given !== '') return given
  const answer = typeof answerId === 'string' && answerId !== '' ? answerId.replace(/[^\w-]/g, '_') : crypto.randomUUID().replaceAll('-', '')
  return `${prefix}_${answer}_${position}`
}
