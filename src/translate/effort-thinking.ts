/**
 * OpenAI's reasoning effort (chat's `reasoning_effort`, Responses' `reasoning.effort`) as Anthropic's thinking,
 * one mapping for both routes.
 */
import { prefillWithoutThinking, toolLoopStartedWithoutThinking } from './anthropic-thinking'

type Json = Record<string, any>

export interface EffortThinkingOptions {
  /** The `max_tokens` sent when the request sets no max output (the estimate used it too). */
  defaultMaxOutputTokens: number
  /** The provider's id of the model (`claude-opus-4-7`): which form of thinking it takes. */
  upstreamModel?: string
}

/** Thinking to send, the `output_config.effort` beside it (adaptive thinking), and the `max_tokens` to send with it. */
interface EffortThinking {
  thinking: Json
  effort?: string
  maxTokens: number
}

/** An effort as a thinking budget (Anthropic's minimum is 1024 tokens). */
const THINKING_BUDGET = new Map(Object.entries({ minimal: 1024, low: 2048, medium: 8192, high: 16384, xhigh: 32000 }))
const MIN_THINKING_BUDGET = 1024

/** An effort as Anthropic's `output_config.effort`: `xhigh` exists from Claude 4.7 on, `max` above it before. */
const ADAPTIVE_EFFORT = new Map(Object.entries({ minimal: 'low', low: 'low', medium: 'medium', high: 'high' }))

/**
 * The least max output of the Claude models that take a thinking budget (Opus 4 and 4.1; the others take
 * 64,000): a `max_tokens` the gateway chooses stays within it.
 */
const BUDGET_MODELS_MAX_OUTPUT = 32_000

/**
 * Claude's version in a model id: the `claude` token wherever it stands (a router's `anthropic/…`, Bedrock's
 * `us.anthropic.…`), then the family or not, then the major and a minor of one or two digits after `-` or `.`
 * (`claude-opus-4-7`, OpenRouter's `claude-opus-4.7` and `claude-4.6-opus`, `claude-3-7-sonnet-…`); a date
 * after the major (`claude-sonnet-4-20250514`) is no minor.
 */
const CLAUDE_VERSION = /(?:^|[^a-z0-9])claude-(?:[a-z]+-)?(\d+)(?:[-.](\d{1,2}))?(?![a-z0-9])/i

/** Claude's version, from the provider's id of it; undefined for an id that does not carry one. */
function claudeVersion(model: string | undefined): { major: number; minor: number } | undefined {
  const m = model?.match(CLAUDE_VERSION)
  return m ? { major: Number(m[1]), minor: Number(m[2] ?? 0) } : undefined
}

const atLeast = (v: { major: number; minor: number }, major: number, minor: number) => v.major > major || (v.major === major && v.minor >= minor)

/**
 * Thinking for an effort. Claude 4.6 and later think adaptively at an effort (Opus 4.7 and later refuse a
 * thinking budget with a 400); earlier models take a budget, which must stay below `max_tokens` (none when at
 * least 1024 tokens do not fit). The budget leaves the answer the default max output, or half of `max_tokens`
 * when that is less: a budget just below it would leave the answer a token. Without a max output, `max_tokens`
 * is the budget plus that default. A model id without a version gets a budget. An effort of `none`, or one
 * not known, asks for no thinking.
 */
function thinkingAt(requested: string, maxOutputTokens: number | undefined, o: EffortThinkingOptions): EffortThinking | undefined {
  const version = claudeVersion(o.upstreamModel)
  if (version && atLeast(version, 4, 6)) {
    const effort = requested === 'xhigh' ? (atLeast(version, 4, 7) ? 'xhigh' : 'max') : ADAPTIVE_EFFORT.get(requested)
    return effort ? { thinking: { type: 'adaptive' }, effort, maxTokens: maxOutputTokens ?? o.defaultMaxOutputTokens } : undefined
  }
  const budget = THINKING_BUDGET.get(requested)
  if (!budget) return undefined
  const answer = o.defaultMaxOutputTokens
  const maxTokens = maxOutputTokens ?? Math.max(answer, Math.min(budget + answer, BUDGET_MODELS_MAX_OUTPUT))
  const fitted = Math.min(budget, maxTokens - Math.min(answer, Math.floor(maxTokens / 2)))
  return fitted >= MIN_THINKING_BUDGET ? { thinking: { type: 'enabled', budget_tokens: fitted }, maxTokens } : undefined
}

/**
 * Thinking for a translated request's reasoning effort, or none. Anthropic refuses thinking with a tool_choice
 * that forces a tool (`any`, or a named one), in a tool loop whose assistant turn started without it (one the
 * gateway sent so, a chat history, which cannot carry thinking back, or an agent's without reasoning before a
 * handoff), and after a final assistant message (a prefill) that starts without it: the answer goes without it.
 */
export function thinkingForEffort(
  effort: unknown,
  maxOutputTokens: number | undefined,
  request: { tool_choice?: Json; messages: unknown },
  o: EffortThinkingOptions,
): EffortThinking | undefined {
  if (typeof effort !== 'string') return undefined
  const forcesTool = request.tool_choice?.type === 'any' || request.tool_choice?.type === 'tool'
  if (forcesTool || toolLoopStartedWithoutThinking(request.messages) || prefillWithoutThinking(request.messages)) return undefined
  return thinkingAt(effort, maxOutputTokens, o)
}
