/**
 * A chunked body sent a byte a chunk costs the gateway about its bytes of memory, as its read budget counts it (it
 * cost ~100 bytes of memory per byte before small chunks were coalesced: src/http/coalesced-chunks.ts).
 *
 * A body of unknown length (chunked) is read by `readBodyWithin` (src/http/body-read.ts) one chunk at a time, each
 * chunk kept as its own Uint8Array in `chunks` until the end, and claimed from the read budget at its bytes
 * (`claim.cover(total)`), never at what it costs to keep. HTTP chunk framing is 5 bytes a 1-byte chunk, so 12 MB
 * on the wire carry a 2 MB body in 2 million chunks: the gateway grows by ~220 MB (past the 200 MB the README says
 * it stays within, "keeps it under the 200 MB it should stay within") and its request thread runs ~3 s, for a body
 * the budget counts at 2 MB (8 MB in flight), from a key with no budget left (402, the provider never called: it
 * costs the sender nothing). The default 25 MiB body limit lets one such body grow the gateway by ~2.7 GB.
 *
 * Such a body is read whole (it was refused 400 `body_too_fragmented` for a while, which refused real clients), the
 * request thread given up for a turn as it is read (src/http/read-turn.ts). It must still cost no memory on the way.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sendChunked } from './support/chunked-sender'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { PeakRss } from './support/peak-rss'
import { quietThread, threadRanDuring } from './support/request-thread-hold'

const CEILING_MB = 200
const BODY_TEXT_BYTES = 2_000_000

let calls = 0
const upstream = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  idleTimeout: 0,
  async fetch(req) {
    await req.arrayBuffer()
    calls++
    return Response.json({ error: { message: 'never called' } }, { status: 500 })
  },
})

let gw: SpawnedGateway
let brokeSecret: string

beforeAll(async () => {
  gw = await spawnGateway({
    config: {
      log_level: 'warn',
      providers: { up: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: 'sk-up-0123456789abcdef' } },
      pricing: { 'up:gpt-x': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  ;({ secret: brokeSecret } = await gw.userWithKey({ id: 'tiny-chunks-broke', max_budget: 0.000001 }))
  await quietThread(gw.proc.pid)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  upstream.stop(true)
})

test(`a ${BODY_TEXT_BYTES / 1e6} MB body sent chunked a byte a chunk, from a key with no budget, keeps the gateway under ${CEILING_MB} MB`, async () => {
  const payload = JSON.stringify({ model: 'up:gpt-x', max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(BODY_TEXT_BYTES) }] })
  const peak = new PeakRss(gw.proc.pid)
  let answer = ''
  const ran = await threadRanDuring(gw.proc.pid, async () => {
    answer = await sendChunked(gw.url, '/v1/chat/completions', { authorization: `Bearer ${brokeSecret}`, 'content-type': 'application/json' }, payload, 1)
  })
  await Bun.sleep(300)
  const { before, peak: peakMb } = peak.stop()
  const status = answer.split('\r\n')[0]
  console.log(`${(payload.length / 1e6).toFixed(1)} MB body in 1-byte chunks: ${status}; request thread ran ${ran.toFixed(0)} ms; RSS ${before.toFixed(0)} -> ${peakMb.toFixed(0)} MB; provider calls ${calls}`)
  // Refused for its budget once read: it costs the sender nothing.
  expect(status).toBe('HTTP/1.1 402 Payment Required')
  expect(calls).toBe(0)
  // What it cost the gateway: the same body in 64 KB chunks takes it from ~75 to ~86 MB.
  expect(peakMb).toBeLessThan(CEILING_MB)
}, 120_000)
