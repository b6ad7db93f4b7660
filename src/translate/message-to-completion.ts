import type { TokenCounts } from '../pricing/price'
import { finishReasonOf } from './stop-reason'
import { anthropicUsage } from './usage'

type Json = Record<string, any>

/**
 * The counts the gateway bills an Anthropic usage (`anthropicUsage`) in OpenAI's terms, so that the client is told
 * what it pays for: prompt tokens with the cache reads and writes (the reads are the cached ones), each kind at
 * least its sum over the usage's `iterations`.
 */
export function chatUsageOf(counts: TokenCounts | null): Json {
  const prompt = counts?.promptTokens ?? 0
  const completion = counts?.completionTokens ?? 0
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: counts?.cachedTokens ?? 0 } }
}

/** An Anthropic Message as an OpenAI `chat.completion`: text joined, `tool_use` blocks as tool calls. */
export function messageToCompletion(message: Json): Json {
  const blocks: Json[] = Array.isArray(message.content) ? message.content : []
  let text = ''
  const toolCalls: Json[] = []
  for (const block of blocks) {
    if (block?.type === 'text' && typeof block.text === 'string') text += block.text
    else if (block?.type === 'tool_use')
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } })
    // Thinking blocks have no place in a chat completion; their tokens are still in the usage.
  }
  const reply: Json = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text, refusal: null }
  if (toolCalls.length > 0) reply.tool_calls = toolCalls
  return {
    id: message.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: message.model,
    choices: [{ index: 0, message: reply, logprobs: null, finish_reason: finishReasonOf(message.stop_reason, toolCalls.length > 0) }],
    usage: chatUsageOf(anthropicUsage(message.usage)),
  }
}
