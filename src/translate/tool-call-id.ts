/**
 * A translated answer's tool call id: the provider's when it is a non-empty string, else one made up from the
 * answer's id and the call's place among its calls, alike in a JSON answer and a stream. The client names the call
 * by it when it sends the result back (Anthropic's `tool_use_id`, Responses' `call_id`), so it must be there and
 * unique in the thread: an answer without an id has a random one in its place. The answer's id goes as a short
 * hash (96 bits, in Anthropic's id alphabet) because OpenAI refuses a tool call id over 40 characters and a thread
 * may later go there: its own answer ids alone are 38.
 */
export function toolCallId(given: unknown, prefix: 'toolu' | 'call', answerId: unknown, position: number): string {
  if (typeof given === 'string' && given !== '') return given
  const answer = typeof answerId === 'string' && answerId !== '' ? answerId : crypto.randomUUID()
  const hash = new Bun.CryptoHasher('sha256').update(answer).digest('base64url').slice(0, 16)
  return `${prefix}_${hash}_${position}`
}
