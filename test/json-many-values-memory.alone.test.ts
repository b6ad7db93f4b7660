/**
 * A JSON body is parsed whole, and once parsed a tiny value takes many times its size: 8 million `{}` fit in the
 * default body limit (25 MiB), and parsed they grew the heap by ~700 MB (1.3 s of JSON.parse on the request
 * thread), whatever field held them, before any validation could refuse them. Issue 15's ceiling with 2,000 streams
 * open is 200 MB. The pre-scan that bounds the depth counts the values too (MAX_JSON_VALUES), so such a body is
 * refused 400 before it is parsed, its memory the text's alone.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { PeakRss } from './support/peak-rss'
import { quietThread, worstHoldDuring } from './support/request-thread-hold'

/** Issue 15: the gateway's ceiling with 2,000 streams open. */
const CEILING_MB = 200

let mock: MockProvider
let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await spawnGateway({ mock })
  ;({ secret } = await gw.userWithKey({ id: 'app' }))
  await quietThread(gw.proc.pid)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test('one body of millions of tiny JSON values within the body limit is refused before it is parsed, the gateway under its memory ceiling', async () => {
  const objects = 8_000_000
  const body =
    '{"model":"mock:gpt-mock","max_tokens":16,"messages":[{"role":"user","content":"hi"}],"metadata":{"x":[' +
    '{},'.repeat(objects - 1) + '{}]}}'
  expect(body.length).toBeLessThan(26_214_400)
  const calls = mock.calls.length
  const memory = new PeakRss(gw.proc.pid)
  const answer = fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body,
  }).then(async (r) => [r.status, (await r.json()) as { error: { code: string } }] as const)
  const worst = await worstHoldDuring(gw.url, answer, gw.proc.pid)
  const { before, peak } = memory.stop()
  const [status, refusal] = await answer
  console.log(`one ${(body.length / 1e6).toFixed(0)} MB body of ${objects / 1e6}M empty objects: answered ${status}; RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB; ${worst}`)
  expect(status).toBe(400)
  expect(refusal.error.code).toBe('invalid_json')
  expect(mock.calls.length).toBe(calls)
  expect(peak).toBeLessThan(CEILING_MB)
}, 120_000)
