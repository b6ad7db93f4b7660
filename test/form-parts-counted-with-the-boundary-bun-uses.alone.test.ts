/**
 * A transcription form of more than MAX_FORM_PARTS parts is refused 400 before it is parsed, counted with the boundary
 * Bun's `formData()` parses it with: the Content-Type's parameters are read as RFC 9110 §5.6.6 writes them, and a
 * form whose boundary is missing, named twice, or written so that readers may differ (escapes in a quoted boundary,
 * text a strict parser cannot read) is refused 400 too. Red team jg: `multipart/form-data; a="; boundary=zzz";
 * boundary=b` was counted with `zzz"` (no parts) and parsed by Bun with `b`, so a 400,000-field form from a key with
 * no budget took the gateway from 74 to 362 MB before its 402.
 */
import { beforeAll, expect, test } from 'bun:test'
import { formOf, MAX_FORM_PARTS } from '../src/http/form-body'
import { GatewayError } from '../src/http/errors'
import type { SpawnedGateway } from './support/gateway'
import { PeakRss } from './support/peak-rss'
import { manyFieldForm, withTranscriberGateway } from './support/transcriber-gateway'
import { quietThread } from './support/request-thread-hold'

const CEILING_MB = 200
const FIELDS = 400_000
const DECOY = 'multipart/form-data; a="; boundary=zzz"; boundary=b'

let gw: SpawnedGateway
let brokeSecret: string
let calls: () => number
withTranscriberGateway({ perRequest: 0.006, users: [{ id: 'rt-jg-form-decoy', max_budget: 0.000001 }], config: { log_level: 'warn' } }, (started) => {
  ;({ gw, received: calls } = started)
  brokeSecret = started.secrets[0]!
})
beforeAll(async () => {
  await quietThread(gw.proc.pid)
}, 60_000)

test(`a form of ${MAX_FORM_PARTS + 1} parts is refused 400 unparsed even when an earlier quoted parameter mentions a boundary`, async () => {
  // Bun itself parses this content type with boundary `b`: the form is a real form to it.
  const fd = await new Response(manyFieldForm(3), { headers: { 'content-type': DECOY } }).formData()
  expect([...fd.keys()]).toEqual(['model', 'file', 'k0', 'k1', 'k2'])
  const res = await fetch(`${gw.url}/v1/audio/transcriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${brokeSecret}`, 'content-type': DECOY },
    body: manyFieldForm(MAX_FORM_PARTS - 1),
  })
  const code = ((await res.json()) as { error: { code: string } }).error.code
  expect([res.status, code]).toEqual([400, 'invalid_json'])
  expect(calls()).toBe(0)
})

test(`a ${FIELDS}-field form with that content type, from a key with no budget, keeps the gateway under ${CEILING_MB} MB`, async () => {
  const body = manyFieldForm(FIELDS)
  const peak = new PeakRss(gw.proc.pid)
  const res = await fetch(`${gw.url}/v1/audio/transcriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${brokeSecret}`, 'content-type': DECOY },
    body,
  })
  const answer = await res.text()
  await Bun.sleep(300)
  const { before, peak: peakMb } = peak.stop()
  console.log(`answered ${res.status} ${answer.slice(0, 100)}; RSS ${before.toFixed(0)} -> ${peakMb.toFixed(0)} MB`)
  expect(calls()).toBe(0)
  expect(peakMb).toBeLessThan(CEILING_MB)
}, 120_000)

/** Content types Bun reads a boundary from, some of them differently from RFC 9110, with the boundaries to try. */
const CONTENT_TYPES: [string, string[]][] = [
  [DECOY, ['b', 'zzz"']],
  ['multipart/form-data; boundary=a; boundary=b', ['a', 'b']],
  ['multipart/form-data; boundary=b; BOUNDARY=c', ['b', 'c']],
  ['multipart/form-data; boundary="q\\"x"', ['q"x', 'q\\"x', 'q\\']],
  ['multipart/form-data; boundary="b\\\\"', ['b\\', 'b\\\\']],
  ['multipart/form-data; boundary=b c', ['b', 'b c']],
  ['multipart/form-data; boundary=b"x"', ['b"x"', 'bx']],
  ['multipart/form-data; boundary=b\tc', ['b', 'b\tc']],
  ['multipart/form-data; a; boundary=b', ['b']],
  ['multipart/form-data; =x; boundary=b', ['b']],
  ['multipart/form-data; boundary=b,c', ['b,c', 'b']],
  ['multipart/form-data; BOUNDARY=b', ['b']],
  ['multipart/form-data;boundary=b', ['b']],
  ['multipart/form-data ; charset=utf-8; boundary="b c"', ['b c']],
  ['multipart/form-data; a="x;boundary=y"; boundary=c', ['c', 'y']],
]

async function bunParses(body: Uint8Array, contentType: string): Promise<boolean> {
  try {
    await new Response(body, { headers: { 'content-type': contentType } }).formData()
    return true
  } catch {
    return false
  }
}

async function statusOf(body: Uint8Array, contentType: string): Promise<number> {
  try {
    await formOf(body, new Headers({ 'content-type': contentType }))
    return 200
  } catch (error) {
    return error instanceof GatewayError ? error.status : 500
  }
}

test.each(CONTENT_TYPES)('%p: every boundary Bun parses a form of too many parts with is refused 400', async (contentType, boundaries) => {
  let parsedByBun = 0
  for (const boundary of boundaries) {
    const tooMany = manyFieldForm(MAX_FORM_PARTS - 1, boundary)
    if (!(await bunParses(tooMany, contentType))) continue
    parsedByBun++
    expect([boundary, await statusOf(tooMany, contentType)]).toEqual([boundary, 400])
    // A small form with that boundary is parsed unless the content type is refused whatever the form.
    const small = manyFieldForm(1, boundary)
    const status = await statusOf(small, contentType)
    if (status === 200) expect(Object.keys(await formOf(small, new Headers({ 'content-type': contentType })))).toEqual(['model', 'file', 'k0'])
    else expect(status).toBe(400)
  }
  expect(parsedByBun).toBe(1)
})

test('plain content types with one clear boundary are parsed as before', async () => {
  for (const contentType of ['multipart/form-data; boundary=b', 'multipart/form-data; BOUNDARY=b', 'Multipart/Form-Data; charset=utf-8; boundary="b"']) {
    expect(await statusOf(manyFieldForm(3), contentType)).toBe(200)
  }
  expect(await statusOf(manyFieldForm(3), 'multipart/form-data')).toBe(400)
})
