import type { AnthropicUsage } from '../usage'
import { carryThinking } from './reasoning-carrier'
import { incompleteReasonOf, responseObject, responsesUsageShape } from './response-object'

type Json = Record<string, any>

/** Anthropic usage in the Responses shape: cache reads and writes are input; the reads are the cached part. */
export function usageOfMessage(u: AnthropicUsage | null | undefined): Json {
  const cached = u?.cache_read_input_tokens ?? 0
  return responsesUsageShape((u?.input_tokens ?? 0) + cached + (u?.cache_creation_input_tokens ?? 0), cached, u?.output_tokens ?? 0)
}

export const outputText = (text: string): Json => ({ type: 'output_text', annotations: [], logprobs: [], text })

/** The Responses output items for Anthropic content blocks (ids derived from the message's, so stable). */
export const outputItems = {
  message: (id: string, text: string, status = 'completed'): Json =>
    ({ id, type: 'message', status, role: 'assistant', content: [outputText(text)] }),
  reasoning: (id: string, block: Json): Json => ({
    id,
    type: 'reasoning',
    summary: block.type === 'thinking' && block.thinking ? [{ type: 'summary_text', text: String(block.thinking) }] : [],
    encrypted_content: carryThinking(block),
  }),
  functionCall: (block: Json, args: string, status = 'completed'): Json =>
    ({ id: `fc_${block.id}`, type: 'function_call', status, arguments: args, call_id: block.id, name: block.name }),
}

/** An Anthropic Message as a Responses response object: text as message items, thinking as reasoning items, tool_use as function calls. */
export function messageToResponse(message: Json, echo: Json): Json {
  const blocks: Json[] = Array.isArray(message.content) ? message.content : []
  const output: Json[] = []
  blocks.forEach((block, i) => {
    if (block?.type === 'text') output.push(outputItems.message(`msg_${message.id}_${i}`, String(block.text ?? '')))
    else if (block?.type === 'thinking' || block?.type === 'redacted_thinking') output.push(outputItems.reasoning(`rs_${message.id}_${i}`, block))
    else if (block?.type === 'tool_use') output.push(outputItems.functionCall(block, JSON.stringify(block.input ?? {})))
  })
  const incompleteReason = incompleteReasonOf(message.stop_reason)
  return responseObject(echo, {
    id: `resp_${message.id}`,
    model: message.model,
    createdAt: Math.floor(Date.now() / 1000),
    status: incompleteReason ? 'incomplete' : 'completed',
    incompleteReason,
    output,
    usage: usageOfMessage(message.usage),
  })
}
