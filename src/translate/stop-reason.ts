/** Why a generation stopped, in each wire format. */

// Maps, not object literals: an unknown reason from a provider, such as `constructor`, must not find Object.prototype's.
const FINISH_OF_STOP = new Map(Object.entries({
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
}))

const STOP_OF_FINISH = new Map(Object.entries({
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
}))

/**
 * A message with tool calls that says its turn simply ended ends for its tool calls. OpenAI and vLLM end a tool call
 * forced by name with `stop`, Gemini's compatible endpoint every tool call, and an Anthropic-compatible server
 * translating such an answer says `end_turn`: read as the end of the turn, the Anthropic SDK's tool runner and
 * Claude Code (on `end_turn`), or a chat loop that runs tools on `tool_calls`, never run the tool. A cut answer (`length`,
 * `max_tokens`) keeps its reason: its last call may be incomplete.
 */

/** Anthropic `stop_reason` → OpenAI `finish_reason`. */
export function finishReasonOf(stopReason: unknown, hasToolCalls: boolean): string {
  const reason = (typeof stopReason === 'string' && FINISH_OF_STOP.get(stopReason)) || 'stop'
  return hasToolCalls && reason === 'stop' ? 'tool_calls' : reason
}

/** OpenAI `finish_reason` → Anthropic `stop_reason`. */
export function stopReasonOf(finishReason: unknown, hasToolCalls: boolean): string {
  const reason = (typeof finishReason === 'string' && STOP_OF_FINISH.get(finishReason)) || 'end_turn'
  return hasToolCalls && reason === 'end_turn' ? 'tool_use' : reason
}
