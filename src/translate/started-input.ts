/**
 * A content block's `input` given at its start, as JSON text, or '' when there is none to keep. Anthropic
 * starts a tool call with `input: {}` and streams the arguments in `input_json_delta`s; some
 * Anthropic-compatible servers send the whole input in the block's start, with no delta after it (the
 * Anthropic SDK keeps it then, as the started block is its snapshot).
 */
export function startedInput(block: { input?: unknown }): string {
  const input = block.input
  return input && typeof input === 'object' && Object.keys(input).length > 0 ? JSON.stringify(input) : ''
}
