import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * SPEC §6: "Upstream error before any output: release (no charge)"; SPEC §3: provider error text is
 * summarised, never forwarded with credentials. A provider (an OpenAI-compatible server or proxy) that answers
 * HTTP 200 with a body that is only an error (`{"error": …}`) has made nothing, on every route, as on chat,
 * messages, Responses, embeddings and moderations (test/error-body.test.ts): the client gets a 502 with a
 * redacted summary (here the provider quotes its upstream API key back), and a hold is released. That covers
 * the routes that pass the provider's answer on as it came: speech (streamed through) and transcriptions,
 * both priced per request, and the free calls, count_tokens, /v1/responses/input_tokens and reading,
 * cancelling or deleting a stored response. A JSON answer that is not only an error is still passed on whole,
 * and paid.
 */
const UPSTREAM_KEY = 'sk-audio-upstream-secret-0123456789'
const ERROR_BODY = { error: { message: `The server had an error processing your request (key ${UPSTREAM_KEY})`, type: 'server_error', code: null } }
const USER = 'team-audio-errors'
const STORED_ID = 'resp_error_body_stored'
const storedResponse = {
  id: STORED_ID, object: 'response', status: 'completed', model: 'm',
  usage: { input_tokens: 3, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 5 },
  output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
}

let upstream: ReturnType<typeof Bun.serve>
let gw: TestGateway
let secret: string
/** What the upstream answers a request other than the one creating a response: by default, a 200 that is only an error. */
let answer = () => Response.json(ERROR_BODY)

beforeAll(async () => {
  upstream = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      // Multipart bodies too: read and ignored.
      await req.arrayBuffer()
      if (req.method === 'POST' && new URL(req.url).pathname === '/v1/responses') return Response.json(storedResponse)
      return answer()
    },
  })
  gw = await startTestGateway({
    config: {
      providers: {
        plain: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: UPSTREAM_KEY },
        ant: { type: 'anthropic', base_url: `http://127.0.0.1:${upstream.port}`, api_key: UPSTREAM_KEY },
      },
      pricing: {
        'plain:m': { input_per_million: 1, output_per_million: 2 },
        'plain:tts': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
        'plain:whisper': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 10 })).secret
  const stored = await call('POST', '/v1/responses', { model: 'plain:m', max_output_tokens: 8, input: 'hi' })
  if (stored.status !== 200) throw new Error(`setup: ${stored.status} ${await stored.text()}`)
})
afterAll(async () => {
  await gw.stop()
  upstream.stop(true)
})

async function released(send: () => Promise<Response>) {
  await gw.settled()
  const before = (await gw.admin('GET', `/v1/users/${USER}`)).body
  const res = await send()
  const text = await res.text()
  await gw.settled()
  const after = (await gw.admin('GET', `/v1/users/${USER}`)).body
  const row = gw.query<{ status: string; cost: number; reserved: number }>('SELECT status, cost, reserved FROM usage ORDER BY id DESC LIMIT 1')[0]!
  return { status: res.status, text, row, charged: Math.round((after.spend - before.spend) * 1e6) }
}

const call = (method: string, path: string, body?: unknown) =>
  fetch(gw.url + path, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
const json = (path: string, body: unknown) => () => call('POST', path, body)
const speech = json('/v1/audio/speech', { model: 'plain:tts', input: 'hello', voice: 'alloy' })

function transcription() {
  const form = new FormData()
  form.append('model', 'plain:whisper')
  form.append('file', new File([new Uint8Array(256)], 'clip.wav', { type: 'audio/wav' }))
  return fetch(gw.url + '/v1/audio/transcriptions', { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
}

describe('a 200 whose body is only an error, on the audio routes: 502, redacted, released', () => {
  test('speech', async () => {
    const r = await released(speech)
    expect(r.text).not.toContain(UPSTREAM_KEY)
    expect(r.status).toBe(502)
    expect(r.text).toContain('The server had an error processing your request')
    expect(r.row).toMatchObject({ status: 'error', cost: 0 })
    expect(r.charged).toBe(0)
  })

  test('transcriptions', async () => {
    const r = await released(transcription)
    expect(r.text).not.toContain(UPSTREAM_KEY)
    expect(r.status).toBe(502)
    expect(r.row).toMatchObject({ status: 'error', cost: 0 })
    expect(r.charged).toBe(0)
  })
})

describe('a 200 whose body is only an error, on the free calls: 502, redacted', () => {
  test('count_tokens', async () => {
    const res = await fetch(gw.url + '/v1/messages/count_tokens', {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'ant:m', messages: [{ role: 'user', content: 'hello' }] }),
    })
    const text = await res.text()
    expect(text).not.toContain(UPSTREAM_KEY)
    expect(res.status).toBe(502)
  })

  const cases: Array<[string, string, Record<string, unknown>?]> = [
    ['POST', '/v1/responses/input_tokens', { model: 'plain:m', input: 'hi' }],
    ['POST', '/v1/responses/input_tokens', { model: 'ant:m', input: 'hi' }],
    ['GET', `/v1/responses/${STORED_ID}`],
    ['GET', `/v1/responses/${STORED_ID}/input_items`],
    ['POST', `/v1/responses/${STORED_ID}/cancel`],
    ['DELETE', `/v1/responses/${STORED_ID}`],
  ]
  for (const [method, path, body] of cases)
    test(`${method} ${path}${body ? ` (${body.model})` : ''}`, async () => {
      const res = await call(method, path, body)
      const text = await res.text()
      expect(text).not.toContain(UPSTREAM_KEY)
      expect(res.status).toBe(502)
      expect(text).toContain('The server had an error processing your request')
    })
})

describe('a 200 JSON answer that is not only an error is passed on whole', () => {
  test('speech: a JSON answer, small or past what is looked at (64 KiB), relayed as it came and paid', async () => {
    for (const size of [10, 200_000]) {
      const body = JSON.stringify({ audio: 'A'.repeat(size), error: null })
      answer = () => new Response(body, { headers: { 'content-type': 'application/json' } })
      try {
        const r = await released(speech)
        expect(r.status).toBe(200)
        expect(r.text).toBe(body)
        expect(r.row).toMatchObject({ status: 'ok', cost: 10_000 })
        expect(r.charged).toBe(10_000)
      } finally {
        answer = () => Response.json(ERROR_BODY)
      }
    }
  })

  test('GET a stored response: relayed with its status', async () => {
    answer = () => Response.json(storedResponse)
    try {
      const res = await call('GET', `/v1/responses/${STORED_ID}`)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual(storedResponse)
    } finally {
      answer = () => Response.json(ERROR_BODY)
    }
  })
})
