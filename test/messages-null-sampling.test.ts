import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A sampling setting sent as `null` means "not set": the Python SDK leaves such a field out, but a JSON client
 * (a model dumped with its unset fields, a config passed on as it was read) sends `"top_k": null`. The route
 * schema took `top_k`, `top_p` and `temperature` as numbers only, so /v1/messages (and count_tokens, which shares
 * its schema) answered 400 naming the field, on the native path and the translated one alike. Null is now taken as
 * absent everywhere: the request is served, and the provider is sent no such field (a null it may refuse).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 }, 'plain:m': { input_per_million: 1, output_per_million: 2 } } },
  (s) => ({ upstream, gw } = s),
)

const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } }
const completion = { id: 'c1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1 } }

/** An Anthropic provider and an OpenAI-compatible one on the same scripted server, each answered in its own format. */
const answer = ({ path }: ScriptedCall) =>
  path === '/v1/messages/count_tokens' ? jsonResponse({ input_tokens: 10 }) : path === '/v1/messages' ? jsonResponse(message) : jsonResponse(completion)

const NULL_SETTINGS = { top_k: null, top_p: null, temperature: null }

async function post(path: string, body: Record<string, unknown>) {
  upstream.answer(answer)
  const { secret } = await gw.userWithKey({ id: `null-sampling-${crypto.randomUUID()}`, max_budget: 10 })
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Pick a word.' }], ...body }),
  })
  const text = await res.text()
  const sent = upstream.calls.at(-1)?.body ?? {}
  return { status: res.status, text, sent: Object.keys(NULL_SETTINGS).filter((field) => field in sent) }
}

describe('top_k, top_p and temperature sent as null are served as not set, none sent on', () => {
  for (const [field, value] of Object.entries(NULL_SETTINGS)) {
    test(`/v1/messages to an Anthropic provider, ${field}: null`, async () => {
      const res = await post('/v1/messages', { model: 'ant:m', max_tokens: 20, [field]: value })
      expect({ status: res.status, sent: res.sent }, res.text).toEqual({ status: 200, sent: [] })
    })

    test(`/v1/messages translated to an OpenAI-compatible provider, ${field}: null`, async () => {
      const res = await post('/v1/messages', { model: 'plain:m', max_tokens: 20, [field]: value })
      expect({ status: res.status, sent: res.sent }, res.text).toEqual({ status: 200, sent: [] })
    })

    test(`/v1/messages/count_tokens to an Anthropic provider, ${field}: null`, async () => {
      const res = await post('/v1/messages/count_tokens', { model: 'ant:m', [field]: value })
      expect({ status: res.status, sent: res.sent }, res.text).toEqual({ status: 200, sent: [] })
    })
  }

  test('all three at once, on both providers, and counted for an OpenAI-compatible model', async () => {
    expect((await post('/v1/messages', { model: 'ant:m', max_tokens: 20, ...NULL_SETTINGS })).status).toBe(200)
    expect((await post('/v1/messages', { model: 'plain:m', max_tokens: 20, ...NULL_SETTINGS })).status).toBe(200)
    const counted = await post('/v1/messages/count_tokens', { model: 'plain:m', ...NULL_SETTINGS })
    expect(counted.status, counted.text).toBe(200)
    expect(JSON.parse(counted.text).input_tokens).toBeGreaterThan(0)
  })

  test('a real value is still typed: a string top_k is a 400 naming it, before any provider call', async () => {
    const res = await post('/v1/messages', { model: 'ant:m', max_tokens: 20, top_k: 'five' })
    expect({ status: res.status, names: res.text.includes('top_k'), calls: upstream.calls.length }).toEqual({ status: 400, names: true, calls: 0 })
  })

  test('a real value is still sent to an Anthropic provider as it came', async () => {
    upstream.answer(answer)
    const { secret } = await gw.userWithKey({ id: 'null-sampling-real', max_budget: 10 })
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 20, top_k: 5, top_p: 0.9, temperature: 0.5, messages: [{ role: 'user', content: 'Pick a word.' }] }),
    })
    expect(res.status).toBe(200)
    const sent = upstream.calls[0]!.body
    expect({ top_k: sent.top_k, top_p: sent.top_p, temperature: sent.temperature }).toEqual({ top_k: 5, top_p: 0.9, temperature: 0.5 })
  })
})
