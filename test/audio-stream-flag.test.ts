/**
 * SPEC §8: the usage row records the request's stream flag. Audio asked for as a stream — a transcription with
 * `stream=true`, speech with `stream_format: "sse"`, answered as server-sent events and passed on as they come —
 * is recorded as a stream; asked for whole, it is not. Runs on both stores (test/engines/stores.engine.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

const sse = (events: unknown[]) =>
  new Response(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join(''), { headers: { 'content-type': 'text/event-stream' } })

let upstream: ReturnType<typeof Bun.serve>
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      if (new URL(req.url).pathname.endsWith('/audio/speech')) {
        const body = (await req.json()) as { stream_format?: string }
        if (body.stream_format === 'sse')
          return sse([
            { type: 'speech.audio.delta', audio: 'AAAA' },
            { type: 'speech.audio.done', usage: { input_tokens: 5, output_tokens: 10, total_tokens: 15 } },
          ])
        return new Response(new Uint8Array(64), { headers: { 'content-type': 'audio/mpeg' } })
      }
      const form = await req.formData()
      if (form.get('stream') === 'true')
        return sse([
          { type: 'transcript.text.delta', delta: 'hello' },
          { type: 'transcript.text.done', text: 'hello', usage: { type: 'tokens', input_tokens: 10, output_tokens: 1, total_tokens: 11 } },
        ])
      return Response.json({ text: 'hello' })
    },
  })
  gw = await startTestGateway({
    config: {
      providers: { plain: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
      pricing: {
        'plain:stt': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
        'plain:tts': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: 'u', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw?.stop()
  upstream?.stop(true)
})

async function answered(res: Response) {
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  return { id: res.headers.get('x-request-id'), type: res.headers.get('content-type') }
}

const streamFlagOf = async (id: string | null) => {
  await gw.settled()
  return Boolean(gw.query('SELECT stream FROM usage WHERE request_id = ?', id)[0]?.stream)
}

test('a streamed transcription is recorded as a stream', async () => {
  const transcribe = async (stream: boolean) => {
    const form = new FormData()
    form.set('model', 'plain:stt')
    if (stream) form.set('stream', 'true')
    form.set('file', new Blob([new Uint8Array(100)], { type: 'audio/wav' }), 'a.wav')
    return answered(await fetch(gw.url + '/v1/audio/transcriptions', { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form }))
  }
  const streamed = await transcribe(true)
  expect(streamed.type).toContain('text/event-stream')
  const whole = await transcribe(false)
  expect(await streamFlagOf(whole.id)).toBe(false)
  expect(await streamFlagOf(streamed.id)).toBe(true)
})

test('speech asked for as server-sent events is recorded as a stream', async () => {
  const speak = async (extra: Record<string, unknown>) =>
    answered(
      await fetch(gw.url + '/v1/audio/speech', {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'plain:tts', input: 'hello', voice: 'alloy', ...extra }),
      }),
    )
  const streamed = await speak({ stream_format: 'sse' })
  expect(streamed.type).toContain('text/event-stream')
  const audio = await speak({})
  expect(audio.type).toBe('audio/mpeg')
  expect(await streamFlagOf(audio.id)).toBe(false)
  expect(await streamFlagOf(streamed.id)).toBe(true)
})
