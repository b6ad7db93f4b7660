/**
 * Anthropic's thinking rules that depend on the rest of the body, kept in one place for every path that sends or
 * changes `thinking`.
 */
import { withFieldsLast } from './fields-last'

type Body = Record<string, unknown>

const isThinkingBlock = (block: unknown) => {
  const type = (block as { type?: unknown } | null)?.type
  return type === 'thinking' || type === 'redacted_thinking'
}

type Message = { role?: unknown; content?: unknown } | null

const answersTools = (m: Message) => m?.role === 'user' && Array.isArray(m.content) && m.content.some((b) => b?.type === 'tool_result')

/**
 * Whether the request continues a tool loop whose assistant turn did not start with thinking: its last message
 * answers tool calls (`tool_result` blocks), and the turn's FIRST assistant message (the one after the last user
 * message that answers no tool) starts with no thinking block. A tool loop is one assistant turn in one thinking
 * mode: Anthropic asks only that the turn's first message start with thinking — later steps without interleaved
 * thinking come back as bare `tool_use` and are fine — and refuses thinking when that first one has none (400 "When
 * `thinking` is enabled, a final `assistant` message must start with a thinking block … To avoid this requirement,
 * disable `thinking`"). Such a turn comes from a request the gateway sent without thinking (a forced tool, an output
 * clamp too low for a budget) or from an agent without reasoning handing over to one with it.
 */
export function toolLoopStartedWithoutThinking(messages: unknown): boolean {
  if (!Array.isArray(messages) || !answersTools(messages.at(-1))) return false
  let first: Message = null
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as Message
    if (m?.role === 'assistant') first = m
    else if (m?.role === 'user' && !answersTools(m)) break
  }
  if (!first) return false
  return !(Array.isArray(first.content) && isThinkingBlock(first.content[0]))
}

/**
 * Whether the request ends with an assistant message (a prefill, which the model continues) that does not start
 * with a thinking block: Anthropic refuses thinking there (400 "When `thinking` is enabled, a final `assistant`
 * message must start with a thinking block").
 */
export function prefillWithoutThinking(messages: unknown): boolean {
  const last = Array.isArray(messages) ? (messages.at(-1) as Message) : null
  return last?.role === 'assistant' && !(Array.isArray(last.content) && isThinkingBlock(last.content[0]))
}

/**
 * The body without `thinking`, and without its `clear_thinking_*` context edits (`context_management` too when no
 * edit is left): Anthropic refuses such an edit once thinking is off (Claude Code sends one with every thinking
 * request).
 */
export function withoutThinking(body: Body): Body {
  const { thinking: _, ...rest } = body
  const management = rest.context_management as { edits?: unknown } | null | undefined
  if (!Array.isArray(management?.edits)) return rest
  const edits = management.edits.filter((edit) => !(typeof edit?.type === 'string' && edit.type.startsWith('clear_thinking_')))
  if (edits.length === management.edits.length) return rest
  const { context_management: __, ...bare } = rest
  return edits.length === 0 ? bare : withFieldsLast(bare, { context_management: withFieldsLast(management, { edits }) })
}

/**
 * A client's Messages body as Anthropic takes it after a turn the gateway clamped: the clamp drops a thinking
 * budget that no longer fits (output-cap.ts), so the assistant turn it answered has no thinking, and the client's
 * next, unclamped request asks for thinking after it, which Anthropic refuses. Thinking with a budget is dropped
 * there, as Anthropic's refusal says to. Adaptive thinking is left as it is: the clamp never drops it, and the
 * model may have chosen not to think on that turn.
 */
export function withThinkingTheToolLoopTakes(body: Body): Body {
  const thinking = body.thinking as { type?: unknown } | null | undefined
  return thinking?.type === 'enabled' && toolLoopStartedWithoutThinking(body.messages) ? withoutThinking(body) : body
}
