import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, postResponses, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Towards Anthropic, blank text is left out and a turn left empty is dropped. When that turn is the client's last
 * user message ([question, assistant "Paris.", user "  "]), the conversation sent ends on the assistant turn: a
 * prefill, which Anthropic continues ("Paris. It is also…") where OpenAI answers a new turn. Such a request is
 * refused with a 400 naming the blank message, before any call or hold. A conversation the client itself ends on
 * an assistant message stays a prefill, and a blank user message before the last turn is still left out.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const anthropicAnswer = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 1 } }

async function postChat(user: string, messages: unknown[]) {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 20, messages }),
  })
  return { status: res.status, text: await res.text(), remaining: res.headers.get('x-budget-remaining') }
}

async function postResponsesInput(user: string, input: unknown[]) {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const res = await postResponses(gw, secret, { model: 'ant:m', max_output_tokens: 20, store: false, input })
  return { status: res.status, text: await res.text() }
}

const spent = async (user: string) => {
  await gw.settled()
  const { spend, reserved } = (await gw.admin('GET', `/v1/users/${user}`)).body as { spend: number; reserved: number }
  return { spend, reserved }
}

test('chat → Anthropic: a blank last user message after an assistant answer is refused naming it, before any call or hold', async () => {
  const res = await postChat('blank-final-chat', [
    { role: 'user', content: 'Capital of France?' },
    { role: 'assistant', content: 'Paris.' },
    { role: 'user', content: '  ' },
  ])
  expect({ status: res.status, names: res.text.includes('Invalid body: messages[2].content:'), calls: upstream.calls.length, remaining: res.remaining }).toEqual({
    status: 400, names: true, calls: 0, remaining: null,
  })
  expect(await spent('blank-final-chat')).toEqual({ spend: 0, reserved: 0 })
})

test('chat → Anthropic: a blank text part as the whole last user message is refused too', async () => {
  const res = await postChat('blank-final-chat-parts', [
    { role: 'user', content: 'Capital of France?' },
    { role: 'assistant', content: 'Paris.' },
    { role: 'user', content: [{ type: 'text', text: '\n' }] },
  ])
  expect({ status: res.status, names: res.text.includes('messages[2].content') }).toEqual({ status: 400, names: true })
})

test('chat → Anthropic: a prefill the client sent last is still sent; a blank user message before the last turn is left out', async () => {
  const prefill = await postChat('blank-final-chat-prefill', [
    { role: 'user', content: 'Capital of France?' },
    { role: 'assistant', content: 'The capital is' },
  ])
  expect(prefill.status).toBe(200)
  expect(upstream.calls.at(-1)!.body.messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'The capital is' }] })

  const earlier = await postChat('blank-final-chat-earlier', [
    { role: 'user', content: 'Capital of France?' },
    { role: 'assistant', content: 'Paris.' },
    { role: 'user', content: ' ' },
    { role: 'assistant', content: 'Anything else?' },
    { role: 'user', content: 'And of Spain?' },
  ])
  expect(earlier.status).toBe(200)
  expect(upstream.calls.at(-1)!.body.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user'])
})

test('responses → Anthropic: a blank last user message after an assistant answer is refused naming it, before any call', async () => {
  const res = await postResponsesInput('blank-final-responses', [
    { role: 'user', content: 'Capital of France?' },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Paris.' }] },
    { role: 'user', content: [{ type: 'input_text', text: '  ' }] },
  ])
  expect({ status: res.status, names: res.text.includes('Invalid body: input[2].content:'), calls: upstream.calls.length }).toEqual({ status: 400, names: true, calls: 0 })
  expect(await spent('blank-final-responses')).toEqual({ spend: 0, reserved: 0 })
})

test('responses → Anthropic: a conversation the client ends on its assistant message is sent as a prefill', async () => {
  const res = await postResponsesInput('blank-final-responses-prefill', [
    { role: 'user', content: 'Capital of France?' },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'The capital is' }] },
  ])
  expect(res.status).toBe(200)
  expect(upstream.calls.at(-1)!.body.messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'The capital is' }] })
})
