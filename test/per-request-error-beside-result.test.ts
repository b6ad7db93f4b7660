import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * As embedding vectors beside an `error` (test/embeddings-error-beside-vectors.test.ts): a transcription's text
 * or a moderation's results beside an `error` (no usage) are an answer the provider made and bills, relayed and
 * paid their per_request price, not taken for "only an error" and released at $0 (SPEC §6: a request the
 * provider received is never free).
 */
const USER = 'team-rt-ca-per-request-error'
// The scripted upstream parses every body as JSON; a transcription's is multipart, so a plain server.
let upstream: ReturnType<typeof Bun.serve>
let answer: () => Response = () => jsonResponse({})
let calls = 0
let gw: TestGateway
let secret: string

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
      providers: { plain: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
      pricing: {
        'plain:whisper': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
        'plain:mod': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  upstream.stop(true)
})

/** The answer, and what it was charged (settledRow: one usage row, spend moved by its cost, nothing left held). */
async function charged(send: () => Promise<Response>) {
  let status = 0
  let text = ''
  const row = await settledRow(gw, USER, async () => {
    const res = await send()
    status = res.status
    text = await res.text()
  })
  return { status, text, charged: row.cost }
}

describe('a per-request answer beside an error (no usage) is relayed and paid, not released at $0', () => {
  test('transcription text beside an error', async () => {
    answer = (() => jsonResponse({ text: 'hello world, the whole recording', error: { message: 'diarization failed' } }))
    const form = new FormData()
    form.append('model', 'plain:whisper')
    form.append('file', new File([new Uint8Array(2000)], 'a.wav', { type: 'audio/wav' }))
    const r = await charged(() => fetch(gw.url + '/v1/audio/transcriptions', { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form }))
    expect(calls).toBeGreaterThan(0)
    // It was a 502 ("Upstream provider answered 200: diarization failed"), charged 0.
    expect(r.status).toBe(200)
    expect(JSON.parse(r.text).text).toBe('hello world, the whole recording')
    expect(r.charged).toBe(10_000)
  })

  test('moderation results beside an error', async () => {
    answer = () => jsonResponse({ id: 'modr-1', model: 'mod', results: [{ flagged: false, categories: {}, category_scores: {} }], error: { message: 'one input skipped' } })
    const r = await charged(() =>
      fetch(gw.url + '/v1/moderations', {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'plain:mod', input: ['a', 'b'] }),
      }),
    )
    // It was a 502, charged 0.
    expect(r.status).toBe(200)
    expect(JSON.parse(r.text).results).toHaveLength(1)
    expect(r.charged).toBe(10_000)
  })
})
