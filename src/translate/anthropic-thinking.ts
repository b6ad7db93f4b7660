/**
 * Anthropic's thinking rules that depend on the rest of the body, kept in one place for every path that sends or
 * changes `thinking`.
 */

const isThinkingBlock = (block: unknown) => {
  const type = (block as { type?: unknown } | null)?.type
  return type === 'thinking' || type === 'redacted_thinking'
}

/**
 * Whether the request continues a tool loop whose assistant turn did not start with thinking: its last message
 * answers tool calls (`tool_result` blocks), and the assistant turn that made them starts with no thinking block.
 * A tool loop is one assistant turn in one thinking mode, so Anthropic refuses thinking there (400 "When `thinking`
 * is enabled, a final `assistant` message must start with a thinking block … To avoid this requirement, disable
 * `thinking`"). Such a turn comes from a request the gateway sent without thinking (a forced tool, an output clamp
 * too low for a budget) or from an agent without reasoning handing over to one with it.
 */
export function toolLoopStartedWithoutThinking(messages: unknown): boolean {
  if (!Array.isArray(messages) || messages.length < 2) return false
  const [turn, last] = messages.slice(-2) as Array<{ role?: unknown; content?: unknown } | null>
  const answersTools = last?.role === 'user' && Array.isArray(last.content) && last.content.some((b) => b?.type === 'tool_result')
  if (!answersTools || turn?.role !== 'assistant') return false
  return !(Array.isArray(turn.content) && isThinkingBlock(turn.content[0]))
}
