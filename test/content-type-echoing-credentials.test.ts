/**
 * SPEC §2/§3: the provider's credentials are never returned to a client. Speech, transcriptions and the free
 * pass-through calls label their answer with the provider's content type, while the echo checks look only at the
 * body. A server that echoes what it was sent into its answer's header (a debugging proxy labelling its answer with
 * the request's Authorization) must not hand the operator's provider key to the client there, where the same echo in
 * the body is refused with a 502: the client gets the media type and a charset, nothing else of the header, and the
 * route's own type for a header that quotes the credentials.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

const KEY = 'sk-scripted-secret-0123456789'
let answer: () => Response = () => new Response('no script', { status: 500 })
let calls = 0
const upstream = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    await req.arrayBuffer()
    calls++
    return answer()
  },
})
let gw: TestGateway
let secret: string

beforeAll(async () => {
  gw = await startTestGateway({
    config: {
      providers: { plain: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: KEY } },
      pricing: {
        'plain:tts': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
        'plain:whisper': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: 'team-content-type-echo', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop(true)
})

/** The client's answer: whether it quotes the key anywhere, and the content type it was labelled with. */
const called = async (path: string, init: RequestInit) => {
  const before = calls
  const res = await fetch(gw.url + path, { method: 'POST', ...init, headers: { authorization: `Bearer ${secret}`, ...init.headers } })
  const body = await res.text()
  const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')
  return { status: res.status, called: calls - before, leaked: headers.includes(KEY) || body.includes(KEY), contentType: res.headers.get('content-type') }
}

const speech = () =>
  called('/v1/audio/speech', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:tts', input: 'hello', voice: 'alloy' }),
  })

const transcription = () => {
  const form = new FormData()
  form.append('model', 'plain:whisper')
  form.append('file', new File([new Uint8Array([0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0])], 'a.wav', { type: 'audio/wav' }))
  return called('/v1/audio/transcriptions', { body: form })
}

const countInputTokens = () =>
  called('/v1/responses/input_tokens', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'plain:m', input: 'hi' }) })

const MP3 = new Uint8Array([0xff, 0xf3, 0x44, 0xc4, 0, 0, 0, 0])

describe('a Content-Type quoting the Authorization the gateway sent does not reach the client', () => {
  test('speech: labelled as the route labels audio', async () => {
    answer = () => new Response(MP3, { headers: { 'content-type': `audio/mpeg; echo="Bearer ${KEY}"` } })
    expect(await speech()).toEqual({ status: 200, called: 1, leaked: false, contentType: 'application/octet-stream' })
  })

  test('transcription: labelled as JSON', async () => {
    answer = () => new Response(JSON.stringify({ text: 'hello' }), { headers: { 'content-type': `application/json; echo="Bearer ${KEY}"` } })
    expect(await transcription()).toEqual({ status: 200, called: 1, leaked: false, contentType: 'application/json' })
  })

  test('a free pass-through call (counting input tokens): labelled as JSON', async () => {
    answer = () => Response.json({ object: 'response.input_tokens', input_tokens: 3 }, { headers: { 'content-type': `application/json; echo="Bearer ${KEY}"` } })
    expect(await countInputTokens()).toEqual({ status: 200, called: 1, leaked: false, contentType: 'application/json' })
  })
})

describe('of the provider content type, only its media type and charset reach the client', () => {
  test("a transcription's text keeps its charset, not the parameters beside it", async () => {
    answer = () => new Response('hello', { headers: { 'content-type': 'Text/Plain; charset="UTF-8"; x-trace=abc' } })
    expect(await transcription()).toEqual({ status: 200, called: 1, leaked: false, contentType: 'text/plain; charset=UTF-8' })
  })

  test('speech keeps its media type, not the parameters beside it', async () => {
    answer = () => new Response(MP3, { headers: { 'content-type': 'audio/mpeg; x-trace=abc' } })
    expect(await speech()).toEqual({ status: 200, called: 1, leaked: false, contentType: 'audio/mpeg' })
  })

  test('a charset that is no charset name is left out', async () => {
    answer = () => new Response('hello', { headers: { 'content-type': 'text/plain; charset="utf-8 x-api-key"' } })
    expect(await transcription()).toEqual({ status: 200, called: 1, leaked: false, contentType: 'text/plain' })
  })
})
