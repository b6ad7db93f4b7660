import type { TokenCounts } from '../../pricing/price'
import { contentText } from '../content-text'
import { incompleteReasonOf } from '../stop-reason'
import { responsesArgumentsOf } from '../tool-arguments'
import { toolCallId } from '../tool-call-id'
import { openAIUsage } from '../usage'
import { outputItems } from './message-to-response'
import { FunctionNames } from './function-names'
import { responseObject, responsesUsageShape } from './response-object'

type Json = Record<string, any>

/** The counts the gateway bills a chat usage (`openAIUsage`) in the Responses shape, so that the client is told what it pays for. */
export const usageOfCompletion = (counts: TokenCounts | null): Json =>
  responsesUsageShape(counts?.promptTokens ?? 0, counts?.cachedTokens ?? 0, counts?.completionTokens ?? 0, counts?.reasoningTokens ?? 0)

/**
 * A chat completion as a Responses response object: its text a message item, its refusal one with a refusal part,
 * its tool calls function calls (by the client's names of them, `names`).
 */
export function completionToResponse(completion: Json, echo: Json, names = new FunctionNames()): Json {
  const choice = completion.choices?.[0] ?? {}
  const message = choice.message ?? {}
  const output: Json[] = []
  const text = contentText(message.content)
  if (text) output.push(outputItems.message(`msg_${completion.id}`, text))
  if (typeof message.refusal === 'string' && message.refusal) output.push(outputItems.refusal(`msg_${completion.id}_refusal`, message.refusal))
  const calls: Json[] = Array.isArray(message.tool_calls) ? message.tool_calls : []
  calls.forEach((call, position) =>
    output.push(outputItems.functionCall({ id: toolCallId(call?.id, 'call', completion.id, position), ...names.called(String(call?.function?.name ?? '')) }, responsesArgumentsOf(String(call?.function?.arguments ?? '')))))
  const incompleteReason = incompleteReasonOf(choice.finish_reason)
  return responseObject(echo, {
    id: `resp_${completion.id}`,
    model: completion.model,
    createdAt: completion.created ?? Math.floor(Date.now() / 1000),
    status: incompleteReason ? 'incomplete' : 'completed',
    incompleteReason,
    output,
    usage: usageOfCompletion(openAIUsage(completion.usage)),
  })
}
