/**
 * What a value costs once parsed depends on its shape, not only its count: an object whose key no other object has
 * gets a shape of its own. 499,000 objects `{"k<i>":0}` are ~1M values, within the value bound, 7 MB of text, and
 * grew the gateway to ~370 MB and held its request thread ~600 ms, for a key with no money (the body is parsed
 * before the hold). Object members are bounded far lower than values (MAX_JSON_MEMBERS): such a body is refused 400
 * before it is parsed.
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
  ;({ secret } = await gw.userWithKey({ id: 'penniless', max_budget: 0 }))
  await quietThread(gw.proc.pid)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test('a body within the value bound whose objects each have their own key does not take the gateway past its memory ceiling', async () => {
  const objects = 499_000
  const body =
    '{"model":"mock:gpt-mock","max_tokens":16,"messages":[{"role":"user","content":"hi"}],"metadata":{"x":[' +
    Array.from({ length: objects }, (_, i) => `{"k${i}":0}`).join(',') + ']}}'
  const memory = new PeakRss(gw.proc.pid)
  const answer = fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body,
  }).then(async (r) => [r.status, await r.text()] as const)
  const worst = await worstHoldDuring(gw.url, answer, gw.proc.pid)
  const { before, peak } = memory.stop()
  const [status, text] = await answer
  console.log(`one ${(body.length / 1e6).toFixed(1)} MB body of ${objects} one-key objects, each key its own: answered ${status} ${text.slice(0, 100)}; RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB; ${worst}`)
  expect(status).toBe(400)
  expect(text).toContain('invalid_json')
  expect(peak).toBeLessThan(CEILING_MB)
}, 120_000)
