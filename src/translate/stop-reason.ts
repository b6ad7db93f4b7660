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

/** Anthropic `stop_reason` → OpenAI `finish_reason`. */
export const finishReasonOf = (stopReason: unknown): string =>
  (typeof stopReason === 'string' && FINISH_OF_STOP.get(stopReason)) || 'stop'

/** OpenAI `finish_reason` → Anthropic `stop_reason`. */
export const stopReasonOf = (finishReason: unknown): string =>
  (typeof finishReason === 'string' && STOP_OF_FINISH.get(finishReason)) || 'end_turn'
