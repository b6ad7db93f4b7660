/**
 * SPEC §2: secrets are "never returned by any endpoint"; §3: provider text is "never forwarded with credentials".
 * A provider (or a proxy, or an echo service such as httpbin's /anything behind a mistyped base_url) that answers
 * 200 with an echo of the request it received quotes the operator's provider key back. No path relays it: a JSON
 * chat answer, count_tokens and a transcription read whole, speech's streamed body (its start), a stream's events.
 * The client gets a 502 that says why; what answered at the base URL received the call and answered it, so the
 * call pays as an answer that cannot be used (its whole hold, or the `per_request` price), and a stream stopped at
 * the echo pays as one the gateway cut. Only credentials count: a configured header that is none (OpenRouter's
 * `X-Title`) quoted in an answer is no echo.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { scriptedGateway, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const USER = 'team-answer-echo'
const ECHOED = "Upstream provider's answer quotes the credentials the gateway sent it"
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
let KEY: string
let ANT_KEY: string

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
  KEY = scriptedProviders(upstream).plain.api_key
  ANT_KEY = scriptedProviders(upstream).ant.api_key
  await gw.admin('POST', '/v1/pricing', { model: 'plain:tts', input_per_million: 0, output_per_million: 0, per_request: 0.01 })
})
afterAll(() => stop())

const post = async (path: string, body: unknown) => {
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

/** `post` for `USER`, with the usage row it wrote (see `settledRow`). */
const postSettled = async (path: string, body: unknown) => {
  let answer = { status: 0, text: '' }
  const row = await settledRow(gw, USER, async () => {
    answer = await post(path, body)
  })
  return { ...answer, row }
}

describe('a 2xx answer that echoes the request is not relayed', () => {
  test('chat, a JSON echo (httpbin-shaped): 502, paid its whole hold', async () => {
    upstream.calls.length = 0
    upstream.answer((call) => Response.json({ headers: { Authorization: `Bearer ${KEY}` }, json: call.body, url: call.path }))
    const { status, text, row } = await postSettled('/v1/chat/completions', { model: 'plain:m', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
    expect(upstream.calls.length).toBe(1)
    expect({ leaked: text.includes(KEY), status }).toEqual({ leaked: false, status: 502 })
    expect(JSON.parse(text).error.message).toStartWith(ECHOED)
    expect(row.status).toBe('error')
    expect(row.reserved).toBeGreaterThan(0)
    expect(row.cost).toBe(row.reserved)
  })

  test('count_tokens, a plain-text echo: 502', async () => {
    upstream.answer(() => new Response(`POST /v1/messages/count_tokens HTTP/1.1\nx-api-key: ${ANT_KEY}\n`, { headers: { 'content-type': 'text/plain' } }))
    const { status, text } = await post('/v1/messages/count_tokens', { model: 'ant:m', messages: [{ role: 'user', content: 'hi' }] })
    expect({ leaked: text.includes(ANT_KEY), status }).toEqual({ leaked: false, status: 502 })
    expect(JSON.parse(text).error.message).toStartWith(ECHOED)
  })

  test('speech, a plain-text echo: 502, paid its per_request price', async () => {
    upstream.answer(() => new Response(`POST /v1/audio/speech HTTP/1.1\nauthorization: Bearer ${KEY}\n`, { headers: { 'content-type': 'text/plain' } }))
    const { status, text, row } = await postSettled('/v1/audio/speech', { model: 'plain:tts', input: 'hello', voice: 'alloy' })
    expect({ leaked: text.includes(KEY), status }).toEqual({ leaked: false, status: 502 })
    expect({ status: row.status, cost: row.cost }).toEqual({ status: 'error', cost: 10_000 })
  })

  test('speech, an echo labelled as audio: its first read is looked at, 502, paid', async () => {
    upstream.answer(() => new Response(`ID3 echo authorization: Bearer ${KEY}`, { headers: { 'content-type': 'audio/mpeg' } }))
    const { status, text, row } = await postSettled('/v1/audio/speech', { model: 'plain:tts', input: 'hello', voice: 'alloy' })
    expect({ leaked: text.includes(KEY), status }).toEqual({ leaked: false, status: 502 })
    expect({ status: row.status, cost: row.cost }).toEqual({ status: 'error', cost: 10_000 })
  })

  test('speech, real audio: streamed through and paid, as before', async () => {
    const audio = new Uint8Array(4096).map((_, i) => i % 251)
    upstream.answer(() => new Response(audio, { headers: { 'content-type': 'audio/mpeg' } }))
    let bytes = new Uint8Array()
    const row = await settledRow(gw, USER, async () => {
      const res = await fetch(`${gw.url}/v1/audio/speech`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'plain:tts', input: 'hello', voice: 'alloy' }),
      })
      expect(res.status).toBe(200)
      bytes = new Uint8Array(await res.arrayBuffer())
    })
    expect(bytes).toEqual(audio)
    expect({ status: row.status, cost: row.cost }).toEqual({ status: 'ok', cost: 10_000 })
  })

  test('a stream chunk that echoes the request headers (a debugging proxy): the stream stops before it, paid as the gateway cut it', async () => {
    const chunk = (extra: Record<string, unknown>) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }], ...extra })}\n\n`
    upstream.answer(() =>
      new Response(
        chunk({}) +
          chunk({ x_upstream_request: { headers: { authorization: `Bearer ${KEY}` } } }) +
          `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })}\n\ndata: [DONE]\n\n`,
        { headers: { 'content-type': 'text/event-stream' } },
      ),
    )
    const { status, text, row } = await postSettled('/v1/chat/completions', { model: 'plain:m', stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
    expect({ leaked: text.includes(KEY), status }).toEqual({ leaked: false, status: 200 })
    // The chunk before the echo is passed on; the stream ends with the gateway's error event, never [DONE].
    expect(text).toContain('"content":"hi"')
    expect(text).toContain('quoting the credentials the gateway sent it')
    expect(text).not.toContain('[DONE]')
    expect(row.status).toBe('error')
    expect(row.cost).toBeGreaterThan(0)
  })

  test('an error event quoting the key is still passed on redacted, not refused', async () => {
    upstream.answer(() =>
      new Response(`data: ${JSON.stringify({ error: { message: `Incorrect API key provided: ${KEY}`, type: 'invalid_request_error' } })}\n\n`, {
        headers: { 'content-type': 'text/event-stream' },
      }),
    )
    const { status, text } = await post('/v1/chat/completions', { model: 'plain:m', stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
    expect({ leaked: text.includes(KEY), status }).toEqual({ leaked: false, status: 200 })
    expect(text).toContain('Incorrect API key provided: [redacted]')
  })
})

describe('only credentials make an echo', () => {
  const TITLE = 'Acme Tollgate Helper'
  const REFERER = 'https://acme.example.com/helper'
  const PROXY_TOKEN = 'proxy-token-0123456789abcdef'
  let scripted: ScriptedUpstream
  let other: TestGateway
  let otherSecret: string

  beforeAll(async () => {
    scripted = startScriptedUpstream()
    other = await startTestGateway({
      config: {
        providers: {
          router: {
            type: 'openai',
            base_url: `${scripted.url}/v1`,
            api_key: 'sk-router-secret-0123456789',
            headers: { 'X-Title': TITLE, 'HTTP-Referer': REFERER, 'X-Proxy-Token': PROXY_TOKEN },
          },
        },
        pricing: { 'router:m': { input_per_million: 1, output_per_million: 2 } },
      },
    })
    otherSecret = (await other.userWithKey({ id: 'team-echo-headers', max_budget: 10 })).secret
  })
  afterAll(async () => {
    await other.stop()
    await scripted.stop()
  })

  const completion = (content: string) => ({
    id: 'c1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
  })
  const chat = async () => {
    const res = await fetch(`${other.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${otherSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'router:m', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    })
    return { status: res.status, text: await res.text() }
  }

  test('an answer naming the app and site the provider is told of (X-Title, HTTP-Referer) is relayed', async () => {
    scripted.answer(() => Response.json(completion(`Welcome to ${TITLE}, at ${REFERER}.`)))
    const { status, text } = await chat()
    expect(status).toBe(200)
    expect(JSON.parse(text).choices[0].message.content).toBe(`Welcome to ${TITLE}, at ${REFERER}.`)
  })

  test('an answer quoting a credential header (X-Proxy-Token) is refused', async () => {
    scripted.answer(() => Response.json(completion(`x-proxy-token: ${PROXY_TOKEN}`)))
    const { status, text } = await chat()
    expect({ leaked: text.includes(PROXY_TOKEN), status }).toEqual({ leaked: false, status: 502 })
  })
})
