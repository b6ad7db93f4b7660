import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { openAIOutputCapField } from '../src/translate/output-cap'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * Azure's OpenAI service, like OpenAI, wants the output bound in `max_completion_tokens`: its reasoning models
 * (o-series, GPT-5) refuse `max_tokens` with a 400. An Azure resource is not at api.openai.com, so the field
 * follows the provider's configured vendor (`catalog: azure`), not its host: cap-output, the clamp and the
 * Anthropic-to-chat translation send the bound in `max_completion_tokens`, and no `max_tokens` beside it.
 */

let upstream: ScriptedUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = startScriptedUpstream()
  // An Azure o-series deployment: refuses max_tokens, writes as much as max_completion_tokens allows.
  upstream.answer(({ body }) => {
    if ('max_tokens' in body)
      return jsonResponse(
        { error: { message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", type: 'invalid_request_error', param: 'max_tokens', code: 'unsupported_parameter' } },
        400,
      )
    const max = body.max_completion_tokens ?? 4096
    return jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 5, completion_tokens: max, total_tokens: 5 + max },
    })
  })
  gw = await startTestGateway({
    config: {
      providers: { azure: { type: 'openai', base_url: `${upstream.url}/openai/v1`, api_key: 'azure-scripted-secret-0123456789', catalog: 'azure' } },
      cap_output_tokens: true,
      clamp_output: true,
      pricing: { 'azure:o3': { input_per_million: 1, output_per_million: 100 } }, // 100 micro-USD an output token
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const post = (path: string, secret: string, body: Record<string, unknown>) =>
  fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'azure:o3', messages: [{ role: 'user', content: 'write a lot' }], ...body }),
  })

describe('a provider configured as Azure gets the output bound in max_completion_tokens', () => {
  test('cap-output, a client max_tokens: sent as max_completion_tokens, and answered', async () => {
    const { secret } = await gw.userWithKey({ id: 'azure-cap', max_budget: 10 })
    const res = await post('/v1/chat/completions', secret, { max_tokens: 300 })
    expect(res.status).toBe(200)
    await res.text()
    const sent = upstream.calls.at(-1)!.body
    expect(sent.max_completion_tokens).toBe(300)
    expect(sent).not.toHaveProperty('max_tokens')
  })

  test('cap-output, no max: the default as max_completion_tokens', async () => {
    const { secret } = await gw.userWithKey({ id: 'azure-default', max_budget: 10 })
    const res = await post('/v1/chat/completions', secret, {})
    expect(res.status).toBe(200)
    await res.text()
    expect(upstream.calls.at(-1)!.body.max_completion_tokens).toBe(4096)
  })

  test('the clamp, a budget for ~1,000 tokens: the clamped max as max_completion_tokens', async () => {
    const { secret } = await gw.userWithKey({ id: 'azure-clamp', max_budget: 0.1 })
    const res = await post('/v1/chat/completions', secret, { max_tokens: 5000 })
    expect(res.status).toBe(200)
    const clamped = Number(res.headers.get('x-output-clamped'))
    await res.text()
    const sent = upstream.calls.at(-1)!.body
    expect(clamped).toBeGreaterThan(0)
    expect(sent.max_completion_tokens).toBe(clamped)
    expect(sent).not.toHaveProperty('max_tokens')
  })

  test('/v1/messages translated to chat: max_tokens sent as max_completion_tokens', async () => {
    const { secret } = await gw.userWithKey({ id: 'azure-messages', max_budget: 10 })
    const res = await post('/v1/messages', secret, { max_tokens: 200 })
    expect(res.status).toBe(200)
    await res.text()
    const sent = upstream.calls.at(-1)!.body
    expect(sent.max_completion_tokens).toBe(200)
    expect(sent).not.toHaveProperty('max_tokens')
  })
})

test('the field follows the configured vendor, else the host', () => {
  const at = (base_url: string, catalog?: string) => openAIOutputCapField({ base_url, catalog })
  expect(at('https://my-resource.openai.azure.com/openai/v1', 'azure')).toBe('max_completion_tokens')
  expect(at('https://egress.example.com/openai/v1', 'openai')).toBe('max_completion_tokens')
  expect(at('https://api.openai.com/v1')).toBe('max_completion_tokens')
  expect(at('https://api.groq.com/openai/v1', 'groq')).toBe('max_tokens')
  expect(at('http://127.0.0.1:11434/v1')).toBe('max_tokens')
})
