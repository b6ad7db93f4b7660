import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { openAIOutputCapField } from '../src/translate/output-cap'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

setDefaultTimeout(30_000)

/**
 * OpenAI's API for EU data residency, https://eu.api.openai.com/v1, is OpenAI's own API (same models): its reasoning
 * models refuse `max_tokens` as api.openai.com's do. A provider at that host gets the output bound in
 * `max_completion_tokens` (from /v1/messages, cap-output and the clamp), as one at api.openai.com does. The
 * provider's host is routed to a scripted OpenAI here (fetch in this process), which refuses max_tokens as OpenAI does.
 */
const EU = 'https://eu.api.openai.com'
let upstream: ScriptedUpstream
let gw: TestGateway
let client: Anthropic
const realFetch = globalThis.fetch

beforeAll(async () => {
  upstream = startScriptedUpstream()
  upstream.answer(({ body }) => {
    if ('max_tokens' in body)
      return jsonResponse({ error: { message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", type: 'invalid_request_error', param: 'max_tokens', code: 'unsupported_parameter' } }, 400)
    return jsonResponse({ id: 'c1', object: 'chat.completion', created: 1, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } })
  })
  globalThis.fetch = ((input: any, init?: any) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    return url.startsWith(EU) ? realFetch(upstream.url + url.slice(EU.length), init) : realFetch(input, init)
  }) as typeof fetch
  gw = await startTestGateway({ config: {
    providers: { openai: { type: 'openai', base_url: `${EU}/v1`, api_key: 'sk-eu-scripted-secret-0123456789' } },
    pricing: { 'openai:o3': { input_per_million: 1, output_per_million: 2 } },
  } })
  const { secret } = await gw.userWithKey({ id: 'openai-eu-host', max_budget: 10 })
  client = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 })
})
afterAll(async () => {
  globalThis.fetch = realFetch
  await gw.stop()
  await upstream.stop()
})

test('/v1/messages to an OpenAI reasoning model at OpenAI EU host sends the bound as max_completion_tokens', async () => {
  const msg = await client.messages.create({ model: 'openai:o3', max_tokens: 200, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
  expect(upstream.calls.length).toBe(1)
  const sent = upstream.calls[0]!.body
  expect(sent.max_tokens).toBeUndefined()
  expect(sent.max_completion_tokens).toBe(200)
  expect(msg.type).toBe('message')
})

test('OpenAI\'s own API is api.openai.com and its regional hosts; a host that only looks like it is not', () => {
  const capField = (base_url: string) => openAIOutputCapField({ base_url })
  expect(capField('https://api.openai.com/v1')).toBe('max_completion_tokens')
  expect(capField('https://eu.api.openai.com/v1')).toBe('max_completion_tokens')
  expect(capField('https://myapi.openai.com.example/v1')).toBe('max_tokens')
  expect(capField('https://notapi.openai.com/v1')).toBe('max_tokens')
  expect(capField('http://localhost:11434/v1')).toBe('max_tokens')
})
