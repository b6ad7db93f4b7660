import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { clientMaxOutput } from '../src/translate/output-cap'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * cap-output (and the clamp on top of it) only ever lowers the max output a provider obeys. A chat request to an
 * OpenAI-compatible server that reads only `max_tokens` (Ollama) with max_tokens 300 and max_completion_tokens
 * 5,000: unchanged the server writes at most 300. cap-output used to send max_completion_tokens ?? max_tokens =
 * 5,000 in max_tokens, so the server wrote ~17x the output the client allowed; with the clamp on as well, the
 * clamp worked from that 5,000 and sent ~1,000.
 */

let upstream: ScriptedUpstream
let capped: TestGateway
let clamped: TestGateway

beforeAll(async () => {
  upstream = startScriptedUpstream()
  // A server that reads only max_tokens, and writes as much as it allows.
  upstream.answer(({ body }) => {
    const max = body.max_tokens ?? 4096
    return jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 5, completion_tokens: max, total_tokens: 5 + max },
    })
  })
  const config = {
    providers: scriptedProviders(upstream),
    cap_output_tokens: true,
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 100 } }, // 100 micro-USD an output token
  }
  capped = await startTestGateway({ config })
  clamped = await startTestGateway({ config: { ...config, clamp_output: true } })
})
afterAll(async () => {
  await capped.stop()
  await clamped.stop()
  await upstream.stop()
})

const ASKED = 300
const ask = (gw: TestGateway, secret: string) =>
  fetch(gw.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: ASKED, max_completion_tokens: 5000, messages: [{ role: 'user', content: 'write a lot' }] }),
  })

describe('a max_tokens-only server is never sent more than the client’s max_tokens', () => {
  test('cap-output on, a budget that covers everything: at most 300 tokens go upstream', async () => {
    const { secret } = await capped.userWithKey({ id: 'cap-smaller-max', max_budget: 10 })
    const res = await ask(capped, secret)
    expect(res.status).toBe(200)
    await res.text()
    expect(upstream.calls.at(-1)!.body.max_tokens).toBeLessThanOrEqual(ASKED)
  })

  test('cap-output and clamp on, a budget for ~1,000 tokens: at most 300 tokens go upstream', async () => {
    const { secret } = await clamped.userWithKey({ id: 'cap-clamp-smaller-max', max_budget: 0.1 })
    const res = await ask(clamped, secret)
    expect(res.status).toBe(200)
    await res.text()
    expect(upstream.calls.at(-1)!.body.max_tokens).toBeLessThanOrEqual(ASKED)
  })
})

describe('the max a client allowed a chat provider', () => {
  const compatible = { type: 'openai' as const, base_url: 'http://127.0.0.1:8000/v1', api_key: '', headers: {} }
  const openai = { ...compatible, base_url: 'https://api.openai.com/v1' }
  const both = { max_completion_tokens: 5000, max_tokens: 300 }

  test('an OpenAI-compatible server may read either field: the smaller of the two set', () => {
    expect(clientMaxOutput('/chat/completions', both, compatible)).toBe(300)
    expect(clientMaxOutput('/chat/completions', { max_completion_tokens: 300, max_tokens: 5000 }, compatible)).toBe(300)
    expect(clientMaxOutput('/chat/completions', { max_completion_tokens: 300 }, compatible)).toBe(300)
    expect(clientMaxOutput('/chat/completions', {}, compatible)).toBeNull()
  })

  test('OpenAI reads max_completion_tokens first', () => {
    expect(clientMaxOutput('/chat/completions', both, openai)).toBe(5000)
    expect(clientMaxOutput('/chat/completions', { max_tokens: 300 }, openai)).toBe(300)
  })
})
