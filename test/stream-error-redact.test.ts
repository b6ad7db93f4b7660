/**
 * SPEC §3: provider error text is "never forwarded with credentials". A provider's error before a stream's
 * first byte, or in a 2xx JSON body, is redacted (test/upstream-redact.test.ts); so is one that arrives as an
 * event of a 2xx stream (OpenAI's `data: {"error": …}`, Anthropic's `event: error`, the Responses API's `error`
 * and `response.failed`, what an OpenAI-compatible proxy sends when its own upstream call fails). The meters
 * cut the credentials out of the event, so the client gets it without them whether it is passed on natively
 * or copied into the gateway's own error event by a translation.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { anthropicEvent, openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/** A configured header that is no key shape: only the provider's own secrets can find it. */
const PROXY_TOKEN = 'proxy-token-4f9c2d7e1b8a'

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let P: ReturnType<typeof scriptedProviders>

beforeAll(async () => {
  upstream = startScriptedUpstream()
  P = scriptedProviders(upstream)
  gw = await startTestGateway({
    config: {
      providers: {
        ...P,
        // /v1/responses translated to chat completions on an OpenAI-type provider.
        chat: { ...P.plain, responses: 'chat' },
        proxied: { ...P.plain, headers: { 'x-proxy-token': PROXY_TOKEN } },
      },
      pricing: Object.fromEntries(['plain:m', 'ant:m', 'chat:m', 'proxied:m'].map((m) => [m, { input_per_million: 1, output_per_million: 2 }])),
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'team-stream-error-redact', max_budget: 10 }))
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

/** What a proxy says when the provider behind it refused the credential it was given. */
const echo = () => `upstream refused the request: headers were authorization=Bearer ${P.plain.api_key}; x-api-key=${P.ant.api_key}`

type Events = 'openai' | 'anthropic' | 'responses-error' | 'responses-failed'

const errorEvent = (events: Events, message: string): string => {
  switch (events) {
    case 'openai':
      return openAIEvent({ error: { message } })
    case 'anthropic':
      return anthropicEvent({ type: 'error', error: { type: 'api_error', message } })
    case 'responses-error':
      return `event: error\ndata: ${JSON.stringify({ type: 'error', code: 'server_error', message, param: null, sequence_number: 0 })}\n\n`
    case 'responses-failed': {
      const response = { id: 'resp_1', object: 'response', status: 'failed', error: { code: 'server_error', message }, output: [], usage: null }
      return `event: response.failed\ndata: ${JSON.stringify({ type: 'response.failed', sequence_number: 0, response })}\n\n`
    }
  }
}

async function streamed(path: string, model: string): Promise<string> {
  const body = path === '/v1/responses'
    ? { model, stream: true, input: 'hello' }
    : { model, stream: true, max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] }
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return res.text()
}

const CASES = [
  { name: 'native OpenAI stream, /v1/chat/completions on plain:m', path: '/v1/chat/completions', model: 'plain:m', events: 'openai' },
  { name: 'native Anthropic stream, /v1/messages on ant:m', path: '/v1/messages', model: 'ant:m', events: 'anthropic' },
  { name: 'translated Anthropic → OpenAI, /v1/chat/completions on ant:m', path: '/v1/chat/completions', model: 'ant:m', events: 'anthropic' },
  { name: 'translated OpenAI → Anthropic, /v1/messages on plain:m', path: '/v1/messages', model: 'plain:m', events: 'openai' },
  { name: 'translated Anthropic → Responses, /v1/responses on ant:m', path: '/v1/responses', model: 'ant:m', events: 'anthropic' },
  { name: 'translated OpenAI chat → Responses, /v1/responses on chat:m', path: '/v1/responses', model: 'chat:m', events: 'openai' },
  { name: 'native Responses stream, `error` event, /v1/responses on plain:m', path: '/v1/responses', model: 'plain:m', events: 'responses-error' },
  { name: 'native Responses stream, `response.failed`, /v1/responses on plain:m', path: '/v1/responses', model: 'plain:m', events: 'responses-failed' },
] as const

describe('an error event inside a provider stream', () => {
  for (const c of CASES)
    test(`${c.name}: the client's stream carries no provider credential`, async () => {
      upstream.answer(() => sseResponse([errorEvent(c.events, echo())]))
      const text = await streamed(c.path, c.model)
      expect(text.length).toBeGreaterThan(0)
      expect({ openaiKey: text.includes(P.plain.api_key), anthropicKey: text.includes(P.ant.api_key) }).toEqual({ openaiKey: false, anthropicKey: false })
      // The rest of the provider's message is still the client's to read.
      expect(text).toContain('upstream refused the request: headers were authorization=Bearer [redacted]')
    })

  test('a configured header value with no key shape is cut out too, from every field of the event', async () => {
    const said = `proxy saw x-proxy-token=${PROXY_TOKEN}`
    upstream.answer(() => sseResponse([openAIEvent({ error: { message: said, param: said, code: PROXY_TOKEN, error: { message: said } } })]))
    const text = await streamed('/v1/chat/completions', 'proxied:m')
    expect(text).not.toContain(PROXY_TOKEN)
    const event = JSON.parse(text.split('\n').find((line) => line.startsWith('data: {'))!.slice(6))
    expect(event).toEqual({
      error: { message: 'proxy saw x-proxy-token=[redacted]', param: 'proxy saw x-proxy-token=[redacted]', code: '[redacted]', error: { message: 'proxy saw x-proxy-token=[redacted]' } },
    })
  })

  test('a secret the provider wrote with JSON escapes is found all the same', async () => {
    const escaped = PROXY_TOKEN.replaceAll('-', '\\u002d')
    upstream.answer(() => sseResponse([`data: {"error":{"message":"proxy saw ${escaped}"}}\n\n`]))
    const text = await streamed('/v1/chat/completions', 'proxied:m')
    expect(text).not.toContain(PROXY_TOKEN)
    expect(text).not.toContain(escaped)
    expect(text).toContain('proxy saw [redacted]')
  })

  test('ordinary events pass as they came, byte for byte', async () => {
    const delta = openAIEvent({ id: 'c1', choices: [{ index: 0, delta: { content: 'sk-not-a-key-but-looks-like-one Bearer abcdefghijkl' }, finish_reason: null }] })
    upstream.answer(() => sseResponse([delta, openAIEvent({ id: 'c1', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }), openAIEvent('[DONE]')]))
    const text = await streamed('/v1/chat/completions', 'plain:m')
    expect(text.startsWith(delta)).toBe(true)
  })
})
