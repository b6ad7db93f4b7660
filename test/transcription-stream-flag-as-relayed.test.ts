/**
 * SPEC §8: the usage row records whether the request streamed. A provider reads its own `stream` form field (vLLM's
 * FastAPI server, a pydantic bool: `stream=1`, `on`, `yes`; a field sent twice reaches it as sent), so a transcription
 * is recorded as a stream when its answer was relayed as one, whatever the gateway made of the field.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

/** pydantic's true values for a bool read from a form field. */
const PYDANTIC_TRUE = new Set(['1', 'on', 'yes', 'y', 't', 'true'])

const upstream = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    const form = await req.formData()
    const stream = form.getAll('stream').at(-1)
    if (typeof stream === 'string' && PYDANTIC_TRUE.has(stream.trim().toLowerCase()))
      return new Response('data: {"type":"transcript.text.delta","delta":"hi"}\n\ndata: {"type":"transcript.text.done","text":"hi"}\n\n', {
        headers: { 'content-type': 'text/event-stream' },
      })
    return Response.json({ text: 'hi' })
  },
})

let gw: TestGateway
let secret: string

beforeAll(async () => {
  gw = await startTestGateway({
    config: {
      providers: { vllm: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: 'sk-vllm-0123456789abcdef' } },
      pricing: { 'vllm:whisper-large-v3': { input_per_million: 0, output_per_million: 0, per_request: 0.001 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'stream-flag-as-relayed', max_budget: 1 }))
})

afterAll(async () => {
  await gw.stop()
  upstream.stop(true)
})

async function transcribe(streamValues: string[]) {
  const form = new FormData()
  form.append('model', 'vllm:whisper-large-v3')
  form.append('file', new File(['RIFF\0\0\0\0WAVE'], 'a.wav', { type: 'audio/wav' }))
  for (const v of streamValues) form.append('stream', v)
  const res = await fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
  const requestId = res.headers.get('x-request-id')!
  const contentType = res.headers.get('content-type') ?? ''
  await res.text()
  await gw.settled()
  const [row] = gw.query<{ stream: number; cost: number }>('select stream, cost from usage where request_id = ?', requestId)
  return { status: res.status, streamed: contentType.startsWith('text/event-stream'), row }
}

test('a transcription answered as an event stream (stream=1, as a pydantic server reads it) is recorded as a stream', async () => {
  const { status, streamed, row } = await transcribe(['1'])
  expect(status).toBe(200)
  expect(streamed).toBe(true)
  expect(row).toBeDefined()
  expect(row!.cost).toBe(1000)
  expect(Boolean(row!.stream)).toBe(true)
})

test('a transcription with stream sent twice, answered as an event stream, is recorded as a stream', async () => {
  const { status, streamed, row } = await transcribe(['true', 'true'])
  expect(status).toBe(200)
  expect(streamed).toBe(true)
  expect(Boolean(row!.stream)).toBe(true)
})

test('stream=true is recorded as a stream', async () => {
  const { streamed, row } = await transcribe(['true'])
  expect(streamed).toBe(true)
  expect(Boolean(row!.stream)).toBe(true)
})
