import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Chat → Anthropic: Anthropic refuses an empty text block (400 "text content blocks must be non-empty") and a
 * whitespace-only one (400 "text content blocks must contain non-whitespace text"), where OpenAI takes both.
 * Several system/developer messages become `system` text blocks, so an empty system message (a template with
 * no system prompt, beside a developer message) must not become one; an assistant turn that called tools with
 * `content: "\n\n"` (as many models answer before a call, and clients send back) neither. Blank text asks the
 * model for nothing: it is left out everywhere, and a conversation left with no message is refused, naming it.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const anthropicAnswer = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 1 } }

const postChat = async (user: string, body: Record<string, unknown>) => {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 20, ...body }),
  })
}

const sentBlocks = () => (upstream.calls[0]!.body.messages as Array<{ content: Array<{ type: string; text?: string }> }>).flatMap((m) => m.content)
const blankTextBlocks = () => sentBlocks().filter((b) => b.type === 'text' && b.text!.trim() === '')

test('an empty system message next to a developer message sends no empty text block to Anthropic', async () => {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const res = await postChat('blank-system', {
    messages: [
      { role: 'system', content: '' },
      { role: 'developer', content: 'Answer in one word.' },
      { role: 'user', content: 'hi' },
    ],
  })
  expect(res.status).toBe(200)
  const { system } = upstream.calls[0]!.body
  const systemTexts = typeof system === 'string' ? [system] : (system as Array<{ text: string }>).map((b) => b.text)
  expect(systemTexts.filter((t) => t.trim() === '')).toEqual([])
  expect(systemTexts.join('\n')).toContain('Answer in one word.')
})

test('an assistant tool-call turn whose content is only newlines sends no blank text block to Anthropic, its tool call kept', async () => {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const res = await postChat('blank-assistant', {
    tools: [{ type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } }],
    messages: [
      { role: 'user', content: 'What time is it?' },
      { role: 'assistant', content: '\n\n', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'now', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '12:00' },
    ],
  })
  expect(res.status).toBe(200)
  expect(blankTextBlocks()).toEqual([])
  expect(upstream.calls[0]!.body.messages[1]).toEqual({ role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'now', input: {} }] })
})

test('a blank text part beside other parts is left out; a blank user message between two is dropped and its neighbours merged', async () => {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const res = await postChat('blank-parts', {
    messages: [
      { role: 'user', content: [{ type: 'text', text: ' \t' }, { type: 'text', text: 'Hello' }] },
      { role: 'user', content: '   ' },
      { role: 'user', content: 'there' },
    ],
  })
  expect(res.status).toBe(200)
  expect(upstream.calls[0]!.body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hello' }, { type: 'text', text: 'there' }] }])
})

test('a conversation with nothing but blank text for Anthropic is refused naming messages, before any call', async () => {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const res = await postChat('blank-only', { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: '\n' }] })
  const text = await res.text()
  expect({ status: res.status, namesMessages: text.includes('Invalid body: messages:'), calls: upstream.calls.length }).toEqual({ status: 400, namesMessages: true, calls: 0 })
})
