import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Messages → OpenAI-compatible: Anthropic's `top_k` changes the answer (sampling only among the k likeliest
 * tokens), and OpenAI's chat API has no such setting. The README: "What the other format cannot carry … is
 * refused with a 400 naming the field, before any hold is taken" — the other direction refuses a non-zero
 * `frequency_penalty` just so. The only fields documented as dropped towards OpenAI are those Claude Code sends
 * on every request (`anthropic-beta`, `context_management`, other `output_config`, `thinking`); `top_k` is not
 * one, yet it was dropped without a word and the client got an answer sampled as it did not ask.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const completion = { id: 'c1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1 } }

test('messages → OpenAI: top_k is refused naming it, before any hold or call', async () => {
  upstream.answer(() => jsonResponse(completion))
  const { secret } = await gw.userWithKey({ id: 'top-k', max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: 20, top_k: 5, messages: [{ role: 'user', content: 'Pick a word.' }] }),
  })
  const text = await res.text()
  expect({ status: res.status, namesTopK: text.includes('Invalid body: top_k:'), calls: upstream.calls.length, remaining: res.headers.get('x-budget-remaining') }).toEqual({
    status: 400,
    namesTopK: true,
    calls: 0,
    remaining: null,
  })
  await gw.settled()
  expect((await gw.admin('GET', '/v1/users/top-k')).body).toMatchObject({ spend: 0, reserved: 0 })
})
