/**
 * A provider quotes a key masked (OpenAI: `Incorrect API key provided: sk-Qw3rT****…9xZq`), which shows 9 of
 * its characters. A 401/403/407 gets a fixed message; the same text also comes in a 2xx answer that is only an
 * error (proxies and OpenAI-compatible servers send them) and in an error event inside a 2xx stream: redaction
 * cuts the mask there (SPEC §2 "Secrets are never … returned by any endpoint", §3 "provider error text is
 * summarised, never forwarded with credentials").
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const PROVIDER_KEY = 'sk-Qw3rTj8LmN2pV5xZ7bC9dF1gH4kM6nP0rS2tU4wY6zA8q9xZq'
const masked = `${PROVIDER_KEY.slice(0, 8)}${'*'.repeat(PROVIDER_KEY.length - 12)}${PROVIDER_KEY.slice(-4)}`
const HEAD = PROVIDER_KEY.slice(3, 8)
const TAIL = PROVIDER_KEY.slice(-4)
const refusal = {
  error: {
    message: `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  },
}

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: { oai: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: PROVIDER_KEY } },
      pricing: { 'oai:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'team-rt-ak-masked', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

const chat = (stream: boolean) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'oai:m', max_tokens: 8, stream, messages: [{ role: 'user', content: 'hi' }] }),
  })

describe("the provider's masked key outside a 401/403/407 status", () => {
  test('a 200 answer that is only the invalid_api_key error: no fragment of the provider key reaches the client', async () => {
    upstream.answer(() => jsonResponse(refusal, 200))
    const res = await chat(false)
    const text = await res.text()
    expect(res.status).toBe(502)
    expect({ head: text.includes(HEAD), tail: text.includes(TAIL) }).toEqual({ head: false, tail: false })
  })

  test('an invalid_api_key error event in a 200 stream: no fragment of the provider key reaches the client', async () => {
    upstream.answer(() => sseResponse([openAIEvent(refusal)]))
    const res = await chat(true)
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(text).toContain('error')
    expect({ head: text.includes(HEAD), tail: text.includes(TAIL) }).toEqual({ head: false, tail: false })
  })
})
