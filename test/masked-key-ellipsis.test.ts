/**
 * A provider key quoted masked with an ellipsis between the stars and its last characters (`sk-Qw3rT****…9xZq`,
 * `sk-Qw3rT****...9xZq`, as OpenAI quotes one: test/provider-auth-error-redaction.test.ts) is cut whole, tail
 * included, from a 400, from a 200 that is only an error, and from an error event in a stream: the masked-key pattern
 * once stopped at the `…` and let `[redacted]…9xZq` reach the client (SPEC §2, §3).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const PROVIDER_KEY = 'sk-Qw3rTj8LmN2pV5xZ7bC9dF1gH4kM6nP0rS2tU4wY6zA8q9xZq'
const HEAD = PROVIDER_KEY.slice(3, 8)
const TAIL = PROVIDER_KEY.slice(-4) // "9xZq"
const SHAPES = {
  ellipsis: `${PROVIDER_KEY.slice(0, 8)}****…${TAIL}`,
  'three dots': `${PROVIDER_KEY.slice(0, 8)}****...${TAIL}`,
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
  secret = (await gw.userWithKey({ id: 'rt-bg-masked-ellipsis', max_budget: 10 })).secret
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

const refusal = (masked: string) => ({ error: { message: `Incorrect API key provided: ${masked}. Check the key.`, type: 'invalid_request_error', code: 'invalid_api_key' } })

describe('a provider key quoted masked with an ellipsis: no fragment of it reaches the client', () => {
  for (const [name, masked] of Object.entries(SHAPES)) {
    test(`${name}: a 400 refusal quoting it`, async () => {
      upstream.answer(() => jsonResponse(refusal(masked), 400))
      const res = await chat(false)
      const text = await res.text()
      expect(res.status).toBe(400)
      expect({ head: text.includes(HEAD), tail: text.includes(TAIL) }).toEqual({ head: false, tail: false })
    })

    test(`${name}: a 200 answer that is only the error`, async () => {
      upstream.answer(() => jsonResponse(refusal(masked), 200))
      const res = await chat(false)
      const text = await res.text()
      expect(res.status).toBe(502)
      expect({ head: text.includes(HEAD), tail: text.includes(TAIL) }).toEqual({ head: false, tail: false })
    })

    test(`${name}: an error event in a 200 stream`, async () => {
      upstream.answer(() => sseResponse([openAIEvent(refusal(masked))]))
      const res = await chat(true)
      const text = await res.text()
      expect(text).toContain('error')
      expect({ head: text.includes(HEAD), tail: text.includes(TAIL) }).toEqual({ head: false, tail: false })
    })
  }
})
