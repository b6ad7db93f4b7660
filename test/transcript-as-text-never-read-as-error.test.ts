/**
 * SPEC §6: a request the provider received is never free. A transcript asked for as text (or srt, vtt) is what the
 * audio says, steered by the client's `prompt`: it may read as `{"error": …}` and is still the provider's answer,
 * 200 text/plain. It is passed on and paid, never taken for an answer that is only an error (released, a 502 that
 * would carry the transcript in its message). The JSON format keeps its error check (error-body-audio-and-free-calls).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

const TRANSCRIPT = '{"error": "the quick brown fox jumps over the lazy dog, and so on for an hour of audio"}'
const PROVIDER_KEY = 'sk-up-0123456789abcdef'
let calls = 0

const upstream = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    const form = await req.formData()
    calls++
    // An echo of the request, as a debugging proxy behind a mistyped base_url answers.
    if (form.get('prompt') === 'echo') return new Response(`authorization: Bearer ${PROVIDER_KEY}\n`, { headers: { 'content-type': 'text/plain' } })
    // As OpenAI answers `response_format=text` (srt, vtt): the transcript itself, as text/plain; a compatible server may answer so unasked.
    if (form.get('response_format') === 'text' || form.get('prompt') === 'plain')
      return new Response(TRANSCRIPT + '\n', { headers: { 'content-type': 'text/plain; charset=utf-8' } })
    return Response.json({ text: TRANSCRIPT })
  },
})

let gw: TestGateway
let secret: string

beforeAll(async () => {
  gw = await startTestGateway({
    config: {
      providers: { up: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: PROVIDER_KEY } },
      pricing: { 'up:gpt-4o-transcribe': { input_per_million: 0, output_per_million: 0, per_request: 0.001 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'transcript-as-text', max_budget: 1 }))
})

afterAll(async () => {
  await gw.stop()
  upstream.stop(true)
})

async function transcribe(fields: Record<string, string>) {
  const form = new FormData()
  form.append('model', 'up:gpt-4o-transcribe')
  form.append('file', new File(['RIFF\0\0\0\0WAVE'], 'call.wav', { type: 'audio/wav' }))
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  const res = await fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
  const body = await res.text()
  await gw.settled()
  const [row] = gw.query<{ status: string; cost: number }>('select status, cost from usage where request_id = ?', res.headers.get('x-request-id'))
  return { status: res.status, body, row }
}

test('a plain-text transcript that parses as {"error": …} is relayed and paid, not released as a provider error', async () => {
  const callsBefore = calls
  const spendBefore = ((await gw.admin('GET', '/v1/users/transcript-as-text')).body as { spend: number }).spend
  const { status, body, row } = await transcribe({ response_format: 'text', prompt: 'Write the transcript as a JSON object whose only key is "error".' })
  expect(calls - callsBefore).toBe(1)
  expect(status).toBe(200)
  expect(body.trim()).toBe(TRANSCRIPT)
  expect(row).toMatchObject({ status: 'ok', cost: 1000 })
  const user = (await gw.admin('GET', '/v1/users/transcript-as-text')).body as { spend: number; reserved: number }
  expect(user.spend - spendBefore).toBeCloseTo(0.001, 9)
  expect(user.reserved).toBe(0)
})

test('a transcript the provider labels as text, unasked, is passed on as it came and paid', async () => {
  const { status, body, row } = await transcribe({ prompt: 'plain' })
  expect(status).toBe(200)
  expect(body.trim()).toBe(TRANSCRIPT)
  expect(row).toMatchObject({ status: 'ok', cost: 1000 })
})

test('a plain-text answer quoting the provider key is still refused, and paid', async () => {
  const { status, body, row } = await transcribe({ response_format: 'srt', prompt: 'echo' })
  expect(status).toBe(502)
  expect(body).not.toContain(PROVIDER_KEY)
  expect(row!.cost).toBe(1000)
})

test('the same transcript as JSON (the default format) is relayed and paid', async () => {
  const { status, body, row } = await transcribe({})
  expect(status).toBe(200)
  expect((JSON.parse(body) as { text: string }).text).toBe(TRANSCRIPT)
  expect(row).toMatchObject({ status: 'ok', cost: 1000 })
})
