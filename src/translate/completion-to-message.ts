import type { TokenCounts } from '../pricing/price'
import { contentText } from './content-text'
import { stopReasonOf } from './stop-reason'
import { toolInputOf } from './tool-arguments'
import { toolCallId } from './tool-call-id'
import { openAIUsage } from './usage'

type Json = Record<string, any>

/**
 * The counts the gateway bills an OpenAI usage (`openAIUsage`) in Anthropic's terms, so that the client is told
 * what it pays for: the output billed (Gemini's thinking, Perplexity's reasoning and citations, which
 * `completion_tokens` leaves out); `input_tokens` without the cache reads and writes, which are reported beside it.
 */
export function messageUsageOf(counts: TokenCounts | null): Json {
  const read = counts?.cachedTokens ?? 0
  const written = counts?.cacheWriteTokens ?? 0
  return {
    input_tokens: (counts?.promptTokens ?? 0) - read - written,
    output_tokens: counts?.completionTokens ?? 0,
    cache_read_input_tokens: read,
    cache_creation_input_tokens: written,
  }
}

/** An OpenAI `chat.completion` (its first choice) as an Anthropic Message. */
export function completionToMessage(completion: Json): Json {
  const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined
  const reply: Json = choice?.message ?? {}
  const content: Json[] = []
  const text = contentText(reply.content) || (typeof reply.refusal === 'string' ? reply.refusal : '')
  if (text !== '') content.push({ type: 'text', text })
  const calls: Json[] = Array.isArray(reply.tool_calls) ? reply.tool_calls : []
  calls.forEach((call, position) =>
    content.push({ type: 'tool_use', id: toolCallId(call?.id, 'toolu', completion.id, position), name: call?.function?.name, input: toolInputOf(call?.function?.arguments) }))
  return {
    id: completion.id,
    type: 'message',
    role: 'assistant',
    model: completion.model,
    content,
    stop_reason: stopReasonOf(choice?.finish_reason, content.some((block) => block.type === 'tool_use')),
    stop_sequence: null,
    usage: messageUsageOf(openAIUsage(completion.usage)),
  }
}
