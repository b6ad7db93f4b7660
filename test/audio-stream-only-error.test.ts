/**
 * SPEC §6: "Upstream error before any output: release (no charge)"; SPEC §3: provider error text is "summarised,
 * never forwarded with credentials". The README: every route looks for a 2xx answer that is only an error, "those
 * that pass the provider's answer on as it came included: speech and transcriptions (released, $0)".
 * Audio asked for as a stream (speech's `stream_format: "sse"`, a transcription's `stream=true`) comes back as an
 * event stream. One whose first data event is the provider's error (no audio or transcript delta at all) made
 * nothing: released, and the client gets our redacted 502, never the event with the key it quotes. One whose first
 * data event is output is passed on as it streams (never read whole first), and pays its `per_request` price.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'

const USER = 'team-audio-stream-error'
const KEY = 'sk-audio-sse-upstream-secret-0123456789'
const ERROR_EVENT = `data: ${JSON.stringify({ type: 'error', error: { message: `Incorrect API key provided: ${KEY}.`, type: 'invalid_request_error', code: 'server_error' } })}\n\n`
let upstream: ReturnType<typeof Bun.serve>
let calls = 0
let gw: TestGateway
let secret: string
/** What the upstream answers every request. */
let answer: () => Response = () => new Response(ERROR_EVENT, { headers: { 'content-type': 'text/event-stream' } })

beforeAll(async () => {
  upstream = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      await req.arrayBuffer()
      calls++
      return answer()
    },
  })
  gw = await startTestGateway({
    config: {
      providers: { plain: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: KEY } },
      pricing: {
        'plain:tts': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
        'plain:stt': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop(true)
})

const speech = () =>
  fetch(`${gw.url}/v1/audio/speech`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:tts', input: 'hello', voice: 'alloy', stream_format: 'sse' }),
  })

const transcription = () => {
  const form = new FormData()
  form.append('model', 'plain:stt')
  form.append('stream', 'true')
  form.append('file', new File([new Uint8Array(64)], 'clip.wav', { type: 'audio/wav' }))
  return fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
}

/** One request for `USER`, read by `read` (its whole text by default): its status, its text, and the usage row it wrote. */
async function settled(send: () => Promise<Response>, read = async (res: Response) => res.text()) {
  let status = 0
  let text = ''
  const before = calls
  const row = await settledRow(gw, USER, async () => {
    const res = await send()
    status = res.status
    text = await read(res)
  })
  expect(calls).toBe(before + 1)
  return { status, text, row }
}

const STREAMS = [
  ['speech (stream_format: "sse")', speech, { type: 'speech.audio.delta', audio: 'AAAA' }, { type: 'speech.audio.done', usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 } }],
  ['a transcription (stream=true)', transcription, { type: 'transcript.text.delta', delta: 'hel' }, { type: 'transcript.text.done', text: 'hello', usage: { type: 'tokens', input_tokens: 3, output_tokens: 1, total_tokens: 4 } }],
] as const

for (const [name, send] of STREAMS) {
  test(`streamed ${name} whose event stream is only an error: released ($0), a redacted 502`, async () => {
    answer = () => new Response(`: keep-alive\n\n${ERROR_EVENT}`, { headers: { 'content-type': 'text/event-stream' } })
    const { status, text, row } = await settled(send)
    expect({ cost: row.cost, leaked: text.includes(KEY), status }).toEqual({ cost: 0, leaked: false, status: 502 })
    expect(JSON.parse(text).error.message).toBe('Upstream provider answered 200: Incorrect API key provided: [redacted].')
  })
}

for (const [name, send, firstEvent, lastEvent] of STREAMS)
  test(`streamed ${name} whose first event is output: passed on as it streams, paid its per_request price`, async () => {
    const encoder = new TextEncoder()
    const [first, last] = [`data: ${JSON.stringify(firstEvent)}\n\n`, `data: ${JSON.stringify(lastEvent)}\n\n`]
    let finish = () => {}
    answer = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(encoder.encode(first))
            // The rest only once the client has had the first event: a gateway that read the stream whole would wait forever.
            finish = () => {
              c.enqueue(encoder.encode(last))
              c.close()
            }
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      )
    let firstRead = ''
    const { status, text, row } = await settled(send, async (res) => {
      const reader = res.body!.getReader()
      const decoder = new TextDecoder()
      firstRead = decoder.decode((await reader.read()).value, { stream: true })
      finish()
      let text = firstRead
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true })
      return text
    })
    expect(firstRead).toBe(first)
    expect({ status, text }).toEqual({ status: 200, text: first + last })
    expect({ status: row.status, cost: row.cost }).toEqual({ status: 'ok', cost: 10_000 })
  })

test('a transcription echoing the request as text: a 502, paid its per_request price', async () => {
  answer = () => new Response(`POST /v1/audio/transcriptions HTTP/1.1\nauthorization: Bearer ${KEY}\n`, { headers: { 'content-type': 'text/plain' } })
  const { status, text, row } = await settled(transcription)
  expect({ leaked: text.includes(KEY), status }).toEqual({ leaked: false, status: 502 })
  expect({ status: row.status, cost: row.cost }).toEqual({ status: 'error', cost: 10_000 })
})
