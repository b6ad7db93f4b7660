import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Chat → Anthropic: a conversation that ends with an assistant message becomes an Anthropic prefill, and
 * Anthropic refuses one whose text ends in whitespace (400 "messages: final assistant content cannot end
 * with trailing whitespace"). OpenAI takes such a message (e.g. "Sure, here it is:\n"), so the gateway turned a
 * request the client's own API serves into a provider refusal. Trailing whitespace of the final assistant
 * text carries nothing the model needs (the Vercel AI SDK and LangChain strip it for Anthropic); an earlier
 * assistant turn keeps its text as sent.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const anthropicAnswer = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: '{"a":1}' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 3 } }

const postChat = async (user: string, messages: unknown[]) => {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 20, messages }),
  })
}

test('a final assistant message ending in a newline reaches Anthropic without trailing whitespace', async () => {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const res = await postChat('final-ws', [
    { role: 'user', content: 'Give me the JSON.' },
    { role: 'assistant', content: 'Here it is:\n' },
  ])
  expect(res.status).toBe(200)
  const last = upstream.calls[0]!.body.messages.at(-1)
  expect(last).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Here it is:' }] })
})

test('only the final text of the final assistant turn is trimmed: earlier turns and parts keep their whitespace', async () => {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const res = await postChat('final-ws-parts', [
    { role: 'user', content: 'Write two lines.' },
    { role: 'assistant', content: 'One.\n' },
    { role: 'user', content: 'Again, as JSON.' },
    { role: 'assistant', content: [{ type: 'text', text: '{"lines": \n' }, { type: 'text', text: '["a", \n\t ' }] },
  ])
  expect(res.status).toBe(200)
  const sent = upstream.calls[0]!.body.messages
  expect(sent[1].content).toEqual([{ type: 'text', text: 'One.\n' }])
  expect(sent.at(-1).content).toEqual([{ type: 'text', text: '{"lines": \n' }, { type: 'text', text: '["a",' }])
})
