import { expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { carryThinking } from '../src/translate/responses/reasoning-carrier'
import { responsesRequestToMessages } from '../src/translate/responses/request-to-messages'

/**
 * A tool loop is ONE assistant turn: Anthropic checks that the turn's FIRST assistant message (the one after the
 * last user message that is not only tool results) starts with thinking. Without interleaved thinking Claude
 * thinks once, at the start of the turn, and its later steps of the same loop come back as bare `tool_use`
 * messages (TanStack/ai#340 shows such loops running on with thinking on, turn 3+). toolLoopStartedWithoutThinking
 * once read only the LAST assistant message, so from the loop's second tool call on it stripped the thinking budget
 * (and Claude Code's clear_thinking edit) from requests Anthropic takes as sent: the rest of the turn, final answer
 * included, went without the thinking the client asked for and Anthropic accepted.
 */
const MODEL = 'claude-sonnet-4-5-20250929'

/** Anthropic's rule as it is: the first assistant message of the final turn starts with thinking when thinking is on. */
function anthropicRefusal(body: any): string | null {
  const edits: any[] = body.context_management?.edits ?? []
  if (!body.thinking && edits.some((e) => String(e?.type).startsWith('clear_thinking_'))) return 'clear_thinking requires thinking'
  if (body.thinking?.type !== 'enabled') return null
  const msgs = body.messages as any[]
  const isToolResults = (m: any) => m.role === 'user' && Array.isArray(m.content) && m.content.every((b: any) => b.type === 'tool_result')
  let start = msgs.length - 1
  while (start > 0 && !(msgs[start].role === 'user' && !isToolResults(msgs[start]))) start--
  const first = msgs.slice(start).find((m) => m.role === 'assistant')
  if (first && !['thinking', 'redacted_thinking'].includes(first.content[0]?.type))
    return 'When `thinking` is enabled, a final `assistant` message must start with a thinking block'
  return null
}

/** Claude without interleaved thinking: thinks at the start of a turn only; two tool calls, then the answer. */
function claude({ body }: ScriptedCall): Response {
  const refusal = anthropicRefusal(body)
  if (refusal) return jsonResponse({ type: 'error', error: { type: 'invalid_request_error', message: refusal } }, 400)
  const results = JSON.stringify(body.messages).split('"tool_result"').length - 1
  const thinking = body.thinking && results === 0 ? [{ type: 'thinking', thinking: 'Read both files.', signature: 'sig' }] : []
  const content = results < 2
    ? [...thinking, { type: 'tool_use', id: `toolu_0${results + 1}`, name: 'Read', input: { file_path: `${results}.txt` } }]
    : [{ type: 'text', text: 'Both say hi.' }]
  return jsonResponse({ id: 'msg_01', type: 'message', role: 'assistant', model: MODEL, content, stop_reason: results < 2 ? 'tool_use' : 'end_turn', stop_sequence: null, usage: { input_tokens: 100, output_tokens: 20 } })
}

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { [`ant:${MODEL}`]: { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

test('native /v1/messages: a thinking tool loop keeps its thinking on its third request, as Anthropic takes it', async () => {
  upstream.answer(claude)
  const { secret } = await gw.userWithKey({ id: 'loop', max_budget: 100 })
  const client = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 })
  const thinking = { type: 'enabled' as const, budget_tokens: 10_000 }
  const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'What do 0.txt and 1.txt say?' }]
  const tools = [{ name: 'Read', input_schema: { type: 'object' as const, properties: { file_path: { type: 'string' } } } }]
  for (let step = 0; step < 3; step++) {
    const answer = await client.messages.create({ model: `ant:${MODEL}`, max_tokens: 16_000, thinking, tools, messages })
    if (answer.stop_reason !== 'tool_use') break
    messages.push({ role: 'assistant', content: answer.content })
    const call = answer.content.find((b) => b.type === 'tool_use')!
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'hi' }] })
  }
  expect(upstream.calls).toHaveLength(3)
  // The third request as the client sent it is one Anthropic takes: its turn's first assistant message thought.
  expect(anthropicRefusal({ thinking, messages: messages.slice(0, 5) })).toBeNull()
  // Every request of the turn goes with the thinking the client asked for (Anthropic accepts each: all answered 200).
  expect(upstream.calls.map((c) => c.body.thinking)).toEqual([thinking, thinking, thinking])
})

test('Responses → Anthropic: the same loop keeps its thinking after the second, unthought call', () => {
  const reasoning = { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: carryThinking({ type: 'thinking', thinking: 'Read both.', signature: 'sig' }) }
  const { request } = responsesRequestToMessages({
    reasoning: { effort: 'high' },
    tools: [{ type: 'function', name: 'Read', parameters: { type: 'object', properties: {} } }],
    input: [
      { role: 'user', content: 'What do 0.txt and 1.txt say?' },
      reasoning,
      { type: 'function_call', call_id: 'call_1', name: 'Read', arguments: '{}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'hi' },
      { type: 'function_call', call_id: 'call_2', name: 'Read', arguments: '{}' },
      { type: 'function_call_output', call_id: 'call_2', output: 'hi' },
    ],
  }, { defaultMaxOutputTokens: 4096, upstreamModel: 'claude-sonnet-4-5' })
  expect(anthropicRefusal({ ...request, thinking: { type: 'enabled', budget_tokens: 16384 } })).toBeNull()
  expect(request.thinking).toEqual({ type: 'enabled', budget_tokens: 16384 })
})
