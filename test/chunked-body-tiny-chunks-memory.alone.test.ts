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
import { expect, test } from 'bun:test'
import { sendChunked } from './support/chunked-sender'
import { type SpawnedGateway } from './support/gateway'
import { withBrokeKeyGateway } from './support/broke-key-gateway'
import { PeakRss } from './support/peak-rss'
import { threadRanDuring } from './support/request-thread-hold'

const CEILING_MB = 200
const BODY_TEXT_BYTES = 2_000_000

let gw: SpawnedGateway
let brokeSecret: string
let calls: () => number
withBrokeKeyGateway(['tiny-chunks-broke'], (s) => {
  ;({ gw, calls } = s)
  brokeSecret = s.secrets[0]!
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
  console.log(`${(payload.length / 1e6).toFixed(1)} MB body in 1-byte chunks: ${status}; request thread ran ${ran.toFixed(0)} ms; RSS ${before.toFixed(0)} -> ${peakMb.toFixed(0)} MB; provider calls ${calls()}`)
  // Refused for its budget once read: it costs the sender nothing.
  expect(status).toBe('HTTP/1.1 402 Payment Required')
  expect(calls()).toBe(0)
  // What it cost the gateway: the same body in 64 KB chunks takes it from ~75 to ~86 MB.
  expect(peakMb).toBeLessThan(CEILING_MB)
}, 120_000)
