import { stopReasonOf } from './stop-reason'
import { cacheReads, cacheWrites, type OpenAIUsage } from './usage'

type Json = Record<string, any>

/**
 * OpenAI usage in Anthropic's terms: `input_tokens` leaves out the cache reads and writes, which are reported beside
 * it, read wherever the server reports them (as the gateway bills them, `openAIUsage`).
 */
export function messageUsageOf(u: OpenAIUsage | null | undefined): Json {
  const read = u ? cacheReads(u) : 0
  const written = u ? cacheWrites(u).tokens : 0
  return {
    input_tokens: Math.max(0, (u?.prompt_tokens ?? 0) - read - written),
    output_tokens: u?.completion_tokens ?? 0,
    cache_read_input_tokens: read,
    cache_creation_input_tokens: written,
  }
}

/** Tool arguments as Anthropic's `input` object; arguments that are not JSON are kept, as a string, under `arguments`. */
export function toolInputOf(args: unknown): unknown {
  if (typeof args !== 'string' || args === '') return {}
  try {
    return JSON.parse(args)
  } catch {
    return { arguments: args }
  }
}

/** An OpenAI `chat.completion` (its first choice) as an Anthropic Message. */
export function completionToMessage(completion: Json): Json {
  const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined
  const reply: Json = choice?.message ?? {}
  const content: Json[] = []
  const text = typeof reply.content === 'string' ? reply.content : typeof reply.refusal === 'string' ? reply.refusal : ''
  if (text !== '') content.push({ type: 'text', text })
  for (const call of Array.isArray(reply.tool_calls) ? reply.tool_calls : [])
    content.push({ type: 'tool_use', id: call?.id, name: call?.function?.name, input: toolInputOf(call?.function?.arguments) })
  return {
    id: completion.id,
    type: 'message',
    role: 'assistant',
    model: completion.model,
    content,
    stop_reason: stopReasonOf(choice?.finish_reason, content.some((block) => block.type === 'tool_use')),
    stop_sequence: null,
    usage: messageUsageOf(completion.usage),
  }
}
