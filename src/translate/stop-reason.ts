/** Why a generation stopped, in each wire format. */

/*
 * Anthropic's `pause_turn` (a long server-tool loop paused; the client sends the answer back for Claude to go on) is
 * an answer that stopped short, not a finished one. OpenAI's formats have no pause, and their reasons are closed
 * enums that typed clients refuse to go beyond: it is told as an answer cut short at its limit, `length` on chat and
 * `incomplete` (`max_output_tokens`) on Responses, so that no client takes the half-done answer for the final one.
 */

// Maps, not object literals: an unknown reason from a provider, such as `constructor`, must not find Object.prototype's.
const FINISH_OF_STOP = new Map(Object.entries({
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'length',
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

/** Why a Responses answer is incomplete, from an Anthropic `stop_reason` or a chat `finish_reason`. */
const INCOMPLETE_OF_STOP = new Map(Object.entries({
  max_tokens: 'max_output_tokens',
  model_context_window_exceeded: 'max_output_tokens',
  pause_turn: 'max_output_tokens',
  length: 'max_output_tokens',
  refusal: 'content_filter',
  content_filter: 'content_filter',
}))

/** Why a response stopped short, from the target's stop reason (null: it did not). */
export const incompleteReasonOf = (stop: unknown): string | null => (typeof stop === 'string' && INCOMPLETE_OF_STOP.get(stop)) || null
