import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Messages → OpenAI-compatible refuses `top_k` (OpenAI's chat API has no such setting). LangChain JS's older
 * `ChatAnthropic` (@langchain/anthropic) sends `top_k: -1` and `top_p: -1` on every request, meaning "off", as
 * Anthropic's first API took them: such a request asks for no sampling setting, yet it was refused. A `top_k`
 * that asks for nothing (-1) is now absent, only a real one (1 or more) refused; a `top_p` of -1 is not sent
 * either (OpenAI refuses a top_p below 0).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const completion = { id: 'c1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1 } }

async function post(user: string, settings: Record<string, unknown>) {
  upstream.answer(() => jsonResponse(completion))
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: 20, messages: [{ role: 'user', content: 'Pick a word.' }], ...settings }),
  })
  return { status: res.status, text: await res.text() }
}

test("LangChain's top_k: -1 and top_p: -1 (off) are served, neither sent to the provider", async () => {
  const res = await post('top-k-off', { temperature: 0.5, top_k: -1, top_p: -1 })
  expect({ status: res.status, calls: upstream.calls.length }).toEqual({ status: 200, calls: 1 })
  const sent = upstream.calls[0]!.body
  expect({ top_k: 'top_k' in sent, top_p: 'top_p' in sent, temperature: sent.temperature }).toEqual({ top_k: false, top_p: false, temperature: 0.5 })
})

test('a real top_k is still refused naming it; a real top_p is still sent', async () => {
  const refused = await post('top-k-real', { top_k: 1 })
  expect({ status: refused.status, names: refused.text.includes('Invalid body: top_k:'), calls: upstream.calls.length }).toEqual({ status: 400, names: true, calls: 0 })
  const served = await post('top-p-real', { top_p: 0.9 })
  expect(served.status).toBe(200)
  expect(upstream.calls[0]!.body.top_p).toBe(0.9)
})
