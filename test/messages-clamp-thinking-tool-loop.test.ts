import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Native /v1/messages with the output clamp. A clamped turn too low for the client's thinking budget goes without
 * thinking (README, "The output clamp"), so Claude answers its tool call with a `tool_use` turn that has no thinking
 * block, and Claude Code sends that turn back as it came. Its next request, unclamped (the budget raised, or
 * enough left for the full max), asks for thinking again after that turn: Anthropic refuses it (400 "When
 * `thinking` is enabled, a final `assistant` message must start with a thinking block … To avoid this requirement,
 * disable `thinking`"), and every later turn of the session carries the same history. The gateway caused it, so
 * the gateway sends such a request without thinking (and without the clear_thinking edit Anthropic refuses
 * without it), as Anthropic's refusal says to.
 */
const MODEL = 'claude-sonnet-4-5-20250929'

/** What Anthropic answers 400 for in a body's thinking settings, or null. */
function anthropicRefusal(body: any): string | null {
  const thinkingOn = body.thinking?.type === 'enabled' || body.thinking?.type === 'adaptive'
  const edits: any[] = body.context_management?.edits ?? []
  if (!thinkingOn && edits.some((e) => e?.type === 'clear_thinking_20251015')) return '`clear_thinking_20251015` strategy requires `thinking` to be enabled or adaptive'
  if (!thinkingOn) return null
  const msgs = body.messages as any[]
  const last = msgs.at(-1)
  const turn = msgs.at(-2)
  const answersTools = Array.isArray(last?.content) && last.content.some((b: any) => b.type === 'tool_result')
  if (answersTools && turn?.role === 'assistant' && turn.content[0]?.type !== 'thinking' && turn.content[0]?.type !== 'redacted_thinking')
    return `messages.${msgs.length - 2}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${turn.content[0]?.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block`
  return null
}

/** Claude as it answers: a thinking block first when thinking is on, then a tool call, or text once the tool has answered. */
function claude({ body }: ScriptedCall): Response {
  const refusal = anthropicRefusal(body)
  if (refusal) return jsonResponse({ type: 'error', error: { type: 'invalid_request_error', message: refusal } }, 400)
  const thinking = body.thinking ? [{ type: 'thinking', thinking: 'Let me read it.', signature: 'sig' }] : []
  const answered = JSON.stringify(body.messages).includes('tool_result')
  const content = answered ? [...thinking, { type: 'text', text: 'It says hi.' }] : [...thinking, { type: 'tool_use', id: 'toolu_01', name: 'Read', input: { file_path: 'a.txt' } }]
  return jsonResponse({ id: 'msg_01', type: 'message', role: 'assistant', model: MODEL, content, stop_reason: answered ? 'end_turn' : 'tool_use', stop_sequence: null, usage: { input_tokens: 100, output_tokens: 20 } })
}

let upstream: ScriptedUpstream
let gw: TestGateway
// 1 µ$ a token in, 100 µ$ a token out: $0.15 leaves room for about 1,400 output tokens, below the 2048 under which the clamp drops thinking.
withScriptedGateway({ pricing: { [`ant:${MODEL}`]: { input_per_million: 1, output_per_million: 100 } } }, (s) => ({ upstream, gw } = s))

const tools = [{ name: 'Read', description: 'Read a file', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } } }]
const question = { role: 'user', content: 'What does a.txt say?' }
const result = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'hi' }] }

/** A Claude Code turn: a large max, a thinking budget, and the clear_thinking edit it sends with thinking. */
const post = (secret: string, messages: unknown[], thinking: Record<string, unknown> = { type: 'enabled', budget_tokens: 31_999 }) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: `ant:${MODEL}`, max_tokens: 32_000, thinking, context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] }, tools, messages }),
  })

test('after a clamped turn that lost its thinking, the unclamped tool result goes without thinking and is answered', async () => {
  upstream.answer(claude)
  const { secret } = await gw.userWithKey({ id: 'clamped-loop', max_budget: 0.15 }, { clamp_output: true })

  const first = await post(secret, [question])
  const answer = (await first.json()) as { content: Array<{ type: string }> }
  expect(first.status).toBe(200)
  expect(Number(first.headers.get('x-output-clamped'))).toBeLessThan(2048)
  expect(upstream.calls[0]!.body.thinking).toBeUndefined()
  expect(answer.content[0]?.type).toBe('tool_use')

  // The budget is raised: the next turn is not clamped, and asks for thinking after the turn that had none.
  expect((await gw.admin('PATCH', '/v1/users/clamped-loop', { max_budget: 100 })).status).toBe(200)
  const second = await post(secret, [question, { role: 'assistant', content: answer.content }, result])
  const text = await second.text()
  expect(second.status, text).toBe(200)
  expect(second.headers.get('x-output-clamped')).toBeNull()
  const sent = upstream.calls[1]!.body
  expect(anthropicRefusal(sent)).toBeNull()
  expect(sent.thinking).toBeUndefined()
  expect(sent.context_management).toBeUndefined()
  expect(sent.max_tokens).toBe(32_000)
  expect(JSON.parse(text).content).toEqual([{ type: 'text', text: 'It says hi.' }])
})

test('a tool loop whose turn did think keeps thinking; so does a new question, and adaptive thinking is left as sent', async () => {
  upstream.answer(claude)
  const { secret } = await gw.userWithKey({ id: 'thinking-loop', max_budget: 100 }, { clamp_output: true })
  const thought = { role: 'assistant', content: [{ type: 'thinking', thinking: 'Let me read it.', signature: 'sig' }, { type: 'tool_use', id: 'toolu_01', name: 'Read', input: { file_path: 'a.txt' } }] }
  const unthought = { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'Read', input: { file_path: 'a.txt' } }] }

  expect((await post(secret, [question, thought, result])).status).toBe(200)
  expect(upstream.calls.at(-1)!.body.thinking).toEqual({ type: 'enabled', budget_tokens: 31_999 })

  const next = [question, unthought, result, { role: 'assistant', content: [{ type: 'text', text: 'It says hi.' }] }, { role: 'user', content: 'And b.txt?' }]
  expect((await post(secret, next)).status).toBe(200)
  expect(upstream.calls.at(-1)!.body.thinking).toEqual({ type: 'enabled', budget_tokens: 31_999 })

  // The clamp never drops adaptive thinking, and the model may choose not to think: the gateway caused nothing here.
  await post(secret, [question, unthought, result], { type: 'adaptive' })
  expect(upstream.calls.at(-1)!.body.thinking).toEqual({ type: 'adaptive' })
})
