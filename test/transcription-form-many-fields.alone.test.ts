/**
 * A transcription form's parts are bounded (MAX_FORM_PARTS, counted before it is parsed), as a JSON body's members are.
 *
 * A JSON body is refused 400 `invalid_json` past 100,000 object members before it is parsed (README, "a JSON body
 * is refused ... Object members ... are bounded at 100,000"; src/http/json-body.ts MAX_JSON_MEMBERS), because a
 * parsed member costs far more than its text. The multipart form of `POST /v1/audio/transcriptions` is parsed by
 * `formAsSent` (src/http/form-body.ts) with no such count: 400,000 empty fields fit in 22.7 MB, under the default
 * 25 MiB body limit, and are parsed whole (Bun's `formData()`, then a Map, an object, the case-variant walk) before
 * the route even looks at the budget. Sent with a key that has no budget left, it costs its sender nothing (402,
 * provider never called) and the gateway's resident memory grows by ~250 MB (past the 200 MB the README says it
 * stays within) and its request thread runs ~2 s, where a JSON body of the same size costs ~0.4 s and ~100 MB.
 */
import { beforeAll, expect, test } from 'bun:test'
import { MAX_FORM_PARTS } from '../src/http/form-body'
import type { SpawnedGateway } from './support/gateway'
import { PeakRss } from './support/peak-rss'
import { manyFieldForm, withTranscriberGateway } from './support/transcriber-gateway'
import { quietThread, threadRanDuring } from './support/request-thread-hold'

const CEILING_MB = 200
const FIELDS = 400_000

let gw: SpawnedGateway
let brokeSecret: string
let calls: () => number
withTranscriberGateway({ perRequest: 0.006, users: [{ id: 'form-fields-broke', max_budget: 0.000001 }], config: { log_level: 'warn' } }, (started) => {
  ;({ gw, received: calls } = started)
  brokeSecret = started.secrets[0]!
})
beforeAll(async () => {
  await quietThread(gw.proc.pid)
}, 60_000)

test(`a form of ${MAX_FORM_PARTS} parts is parsed (then refused for its budget); one more is refused 400 unparsed, its boundary quoted or not`, async () => {
  const send = async (parts: number, contentType: string, boundary: string) => {
    const res = await fetch(`${gw.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${brokeSecret}`, 'content-type': contentType },
      body: manyFieldForm(parts - 2, boundary),
    })
    return [res.status, ((await res.json()) as { error: { code: string } }).error.code]
  }
  expect(await send(MAX_FORM_PARTS, 'multipart/form-data; boundary=b', 'b')).toEqual([402, 'budget_exceeded'])
  expect(await send(MAX_FORM_PARTS + 1, 'multipart/form-data; boundary=b', 'b')).toEqual([400, 'invalid_json'])
  expect(await send(MAX_FORM_PARTS + 1, 'multipart/form-data; boundary="a b"', 'a b')).toEqual([400, 'invalid_json'])
  expect(calls()).toBe(0)
})

test(`a transcription form of ${FIELDS} fields, from a key with no budget, keeps the gateway under ${CEILING_MB} MB`, async () => {
  const body = manyFieldForm(FIELDS)
  expect(body.length).toBeLessThan(26_214_400) // under the default body limit
  let status = 0
  let answer = ''
  const peak = new PeakRss(gw.proc.pid)
  // /health asked every 20 ms meanwhile: the longest wait is the longest the request thread was held at once.
  let longestHealthMs = 0
  const ran = await threadRanDuring(gw.proc.pid, async () => {
    let done = false
    const sent = fetch(`${gw.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${brokeSecret}`, 'content-type': 'multipart/form-data; boundary=b' },
      body,
    }).then(async (res) => {
      status = res.status
      answer = await res.text()
      done = true
    })
    while (!done) {
      const t = performance.now()
      await (await fetch(`${gw.url}/health`)).arrayBuffer()
      longestHealthMs = Math.max(longestHealthMs, performance.now() - t)
      await Bun.sleep(20)
    }
    await sent
  })
  await Bun.sleep(300)
  const { before, peak: peakMb } = peak.stop()
  console.log(`${(body.length / 1e6).toFixed(1)} MB form, ${FIELDS} fields: answered ${status} ${answer.slice(0, 120)}; request thread ran ${ran.toFixed(0)} ms, longest /health ${longestHealthMs.toFixed(0)} ms; RSS ${before.toFixed(0)} -> ${peakMb.toFixed(0)} MB; provider calls ${calls()}`)
  // Free to the sender: refused for its budget (or, as a JSON body past the member bound is, as a bad request).
  expect([400, 402, 413]).toContain(status)
  expect(calls()).toBe(0)
  // What it cost the gateway.
  expect(peakMb).toBeLessThan(CEILING_MB)
}, 120_000)
