/**
 * A provider — or a proxy in front of it — that answers a JSON (non-stream) call with a `content-encoding: gzip`
 * body: Bun's fetch inflates it transparently, so a few hundred kilobytes on the wire become whatever the body
 * inflates to. Read whole with no bound (`res.text()`), 398 KiB inflating to 400 MiB took the gateway from 75 to
 * 1,287 MB RSS, held its request thread 3.5 s (`/health` 5.6 s) and sent the client the 400 MB (red team jl). The
 * answer is read through a byte bound (src/providers/answer-text.ts): past it, it is an answer that cannot be used,
 * 502, paid its whole hold, not retried. An embeddings answer, larger by nature (2,048 × 3,072 floats), has a larger
 * bound, so one past chat's is still relayed.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { PeakRss } from './support/peak-rss'
import { quietThread, worstHoldDuring } from './support/request-thread-hold'
import { settledRow } from './support/settled-row'

const CEILING_MB = 200
const MiB = 1024 * 1024
/** Inflated size of the chat answer: 400 MiB of padding after a real chat completion. */
const INFLATED = 400 * MiB
/** An embeddings answer past chat's bound (32 MiB), within its own. */
const EMBEDDINGS_BYTES = 48 * MiB
const MAX_TOKENS = 16

/** `answer` as JSON with a string field `pad` of `padBytes` more bytes, gzipped. */
function paddedGzip(answer: Record<string, unknown>, padBytes: number): Uint8Array {
  const head = Buffer.from(JSON.stringify(answer).slice(0, -1) + ',"pad":"')
  const raw = Buffer.alloc(head.length + padBytes + 2, 0x61)
  head.copy(raw, 0)
  raw.write('"}', head.length + padBytes)
  return Bun.gzipSync(raw)
}

let provider: ReturnType<typeof Bun.serve>
let gw: SpawnedGateway
let secret: string
let chatWire: Uint8Array
let embeddingsWire: Uint8Array

beforeAll(async () => {
  chatWire = paddedGzip({
    id: 'chatcmpl-bomb', object: 'chat.completion', model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
  }, INFLATED)
  embeddingsWire = paddedGzip({
    object: 'list', model: 'e', data: [{ object: 'embedding', index: 0, embedding: [0.25, -0.5] }],
    usage: { prompt_tokens: 3, total_tokens: 3 },
  }, EMBEDDINGS_BYTES)
  provider = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      await req.text()
      const wire = new URL(req.url).pathname.endsWith('/embeddings') ? embeddingsWire : chatWire
      return new Response(wire, { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } })
    },
  })
  gw = await spawnGateway({
    config: {
      providers: { plain: { type: 'openai', base_url: `http://127.0.0.1:${provider.port}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'plain:e': { input_per_million: 1, output_per_million: 0 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'bomb', max_budget: 10 }))
  await quietThread(gw.proc.pid)
}, 120_000)

afterAll(async () => {
  await gw?.stop()
  await provider?.stop(true)
})

const post = (path: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('a gzip JSON answer that inflates to hundreds of MB is cut at the bound: 502, paid its whole hold, under the memory ceiling', async () => {
  const memory = new PeakRss(gw.proc.pid)
  let status = 0
  let shouldRetry = null as string | null
  let message = ''
  let worst = ''
  const row = await settledRow(gw, 'bomb', async () => {
    const answer = post('/v1/chat/completions', { model: 'plain:m', max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: 'hello' }] })
      .then(async (r) => ({ res: r, text: await r.text() }))
    worst = String(await worstHoldDuring(gw.url, answer, gw.proc.pid))
    const { res, text } = await answer
    status = res.status
    shouldRetry = res.headers.get('x-should-retry')
    message = text.length < 4096 ? JSON.parse(text).error.message : `${text.length} chars`
  })
  await Bun.sleep(200)
  const { before, peak } = memory.stop()
  console.log(`${(chatWire.byteLength / 1024).toFixed(0)} KiB gzip on the wire, ${INFLATED / MiB} MiB inflated: answered ${status}; RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB; ${worst}`)
  expect(peak).toBeLessThan(CEILING_MB)
  expect(status).toBe(502)
  expect(message).toContain('larger than')
  expect(shouldRetry).toBe('false')
  expect(row.status).toBe('error')
  expect(row.reserved).toBeGreaterThan(0)
  expect(row.cost).toBe(row.reserved)
  expect(row.completion_tokens).toBe(MAX_TOKENS)
}, 120_000)

test('an embeddings answer past the chat bound is within its own: relayed whole, paid by its usage', async () => {
  const row = await settledRow(gw, 'bomb', async () => {
    const res = await post('/v1/embeddings', { model: 'plain:e', input: 'some words to embed' })
    expect(res.status).toBe(200)
    const answer = (await res.json()) as any
    expect(answer.data[0].embedding).toEqual([0.25, -0.5])
    expect(answer.pad.length).toBe(EMBEDDINGS_BYTES)
  })
  expect(row).toMatchObject({ status: 'ok', prompt_tokens: 3 })
}, 120_000)
