import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A tool loop whose assistant turn started without thinking (a turn the output clamp sent without it, an agent
 * without reasoning handing over) is sent to Anthropic without `thinking` (and without the clear_thinking edit
 * Anthropic refuses without it): Anthropic refuses thinking there (test/messages-clamp-thinking-tool-loop.test.ts).
 * Native count_tokens passed the body on as it came, thinking included. Anthropic's count_tokens applies the same
 * thinking-block validation as a generation (inspect_ai#4420 met its 400s from count_tokens alone), so the client
 * asking what its next request will cost was refused where the request itself is served, and billed, without
 * thinking. count_tokens now counts the request as /v1/messages sends it.
 */
const MODEL = 'claude-sonnet-4-5-20250929'
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { [`ant:${MODEL}`]: { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

/** What Anthropic answers 400 for in a body's thinking settings (on /v1/messages and count_tokens alike), or null. */
function anthropicRefusal(body: any): string | null {
  const thinkingOn = body.thinking?.type === 'enabled' || body.thinking?.type === 'adaptive'
  const edits: any[] = body.context_management?.edits ?? []
  if (!thinkingOn && edits.some((e) => e?.type === 'clear_thinking_20251015')) return '`clear_thinking_20251015` strategy requires `thinking` to be enabled or adaptive'
  if (!thinkingOn) return null
  const msgs = body.messages as any[]
  const turn = msgs.at(-2)
  const answersTools = msgs.at(-1)?.content?.some?.((b: any) => b.type === 'tool_result')
  if (answersTools && turn?.role === 'assistant' && turn.content[0]?.type !== 'thinking' && turn.content[0]?.type !== 'redacted_thinking')
    return `messages.${msgs.length - 2}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${turn.content[0]?.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block`
  return null
}

function anthropic({ path, body }: ScriptedCall): Response {
  const refusal = anthropicRefusal(body)
  if (refusal) return jsonResponse({ type: 'error', error: { type: 'invalid_request_error', message: refusal } }, 400)
  if (path === '/v1/messages/count_tokens') return jsonResponse({ input_tokens: 321 })
  return jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: MODEL, content: [{ type: 'text', text: 'It says hi.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 321, output_tokens: 5 } })
}

const tools = [{ name: 'Read', description: 'Read a file', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } } }]
const question = { role: 'user', content: 'What does a.txt say?' }
const call = (first: unknown[]) => ({ role: 'assistant', content: [...first, { type: 'tool_use', id: 'toolu_01', name: 'Read', input: { file_path: 'a.txt' } }] })
const result = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'hi' }] }
const THINKING = { type: 'thinking', thinking: 'Let me read it.', signature: 'sig' }

/** A Claude Code turn: a thinking budget, and the clear_thinking edit it sends with thinking. */
const turn = (messages: unknown[]) => ({
  model: `ant:${MODEL}`,
  thinking: { type: 'enabled', budget_tokens: 16_000 },
  context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
  tools,
  messages,
})

async function post(path: string, body: Record<string, unknown>) {
  upstream.answer(anthropic)
  const { secret } = await gw.userWithKey({ id: `count-loop-${crypto.randomUUID()}`, max_budget: 10 })
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const sent = upstream.calls.at(-1)!.body
  return { status: res.status, text: await res.text(), sent: { thinking: sent.thinking, context_management: sent.context_management } }
}

test('a tool loop started without thinking is counted as /v1/messages sends it: without thinking, answered', async () => {
  const messages = [question, call([]), result]
  const served = await post('/v1/messages', { ...turn(messages), max_tokens: 32_000 })
  expect(served.status, served.text).toBe(200)
  const counted = await post('/v1/messages/count_tokens', turn(messages))
  expect({ status: counted.status, body: counted.text }).toEqual({ status: 200, body: JSON.stringify({ input_tokens: 321 }) })
  expect(counted.sent).toEqual(served.sent)
  expect(counted.sent).toEqual({ thinking: undefined, context_management: undefined })
})

test('a tool loop that started with thinking is counted with it, as it is sent', async () => {
  const counted = await post('/v1/messages/count_tokens', turn([question, call([THINKING]), result]))
  expect(counted.status, counted.text).toBe(200)
  expect(counted.sent).toEqual({ thinking: { type: 'enabled', budget_tokens: 16_000 }, context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] } })
})

test('a first question is counted with its thinking', async () => {
  const counted = await post('/v1/messages/count_tokens', turn([question]))
  expect(counted.status, counted.text).toBe(200)
  expect(counted.sent.thinking).toEqual({ type: 'enabled', budget_tokens: 16_000 })
})
