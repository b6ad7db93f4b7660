/**
 * The console's sign-in, `POST /v1/session`, is the one POST a caller with no credential reaches past the auth
 * hook. Its body is one key (at most 512 characters), so it has its own 4 KB body limit, checked before a byte is
 * read: under the general 25 MB limit a 20 MB object of many keys was read, parsed and validated before the
 * route's Origin check and sign-in rate limit could turn it away, holding a concurrent /health for 1.5–1.8 s.
 *
 * The gateway runs as a child process, so that the measure is its event loop, not this test's.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'

let gw: SpawnedGateway

beforeAll(async () => {
  gw = await spawnGateway({ config: { log_level: 'warn' } })
})

afterAll(async () => {
  await gw?.stop()
})

// ~20 MB: under the 25 MB general body limit; a sign-in body is `{"key": "<at most 512 characters>"}`.
const HUGE_SIGN_IN = '{' + Array.from({ length: 1_700_000 }, (_, i) => `"k${i}":1`).join(',') + '}'

test('an unauthenticated 20 MB sign-in body is refused without stalling the gateway: /health answers within 500 ms meanwhile', async () => {
  expect(HUGE_SIGN_IN.length).toBeLessThan(26_214_400)
  const signIn = fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: HUGE_SIGN_IN,
  }).then(async (res) => ({ status: res.status, text: await res.text() }))
  const worst = await worstHealthDuring(gw.url, signIn)
  const answer = await signIn
  expect(answer.status).toBe(413)
  expect(worst).toBeLessThan(500)
}, 60_000)

test('a sign-in body sent without a length is cut at the same 4 KB', async () => {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(JSON.stringify({ key: 'x'.repeat(8192) })))
      controller.close()
    },
  })
  const res = await fetch(`${gw.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: gw.url }, body })
  expect(res.status).toBe(413)
})
