/**
 * With CORS configured, a preflight (OPTIONS with Origin and Access-Control-Request-Method) is let past
 * authentication (src/plugins/cors.ts), and its body is never read: a browser never sends one, and anyone may
 * send a preflight (the Origin is just a header to a non-browser client). Before, the body-limit plugin's global
 * parse hook read and JSON-parsed it under the general 25 MB limit (as it did for the console sign-in before
 * that got its own 4 KB limit): a malformed one got 400 invalid_json, a 20 MB one held /health for seconds.
 *
 * The gateway runs as a child process, so that the measure is its event loop, not this test's.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'

const ORIGIN = 'https://app.example.com'
let gw: SpawnedGateway

beforeAll(async () => {
  gw = await spawnGateway({ config: { log_level: 'warn', cors_allowed_origins: [ORIGIN] } })
})
afterAll(async () => {
  await gw?.stop()
})

const preflight = (body: string | Blob) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'content-type': 'application/json' },
    body,
  }).then(async (res) => ({ status: res.status, text: await res.text() }))

test('a preflight body is never parsed: a malformed one is no 400 invalid_json (the preflight is answered, or its body refused unread)', async () => {
  for (const body of ['{not json', new Blob(['{not json'])]) {
    const answer = await preflight(body)
    expect({ answered: [204, 413].includes(answer.status), parsed: answer.text.includes('invalid_json'), status: answer.status }).toMatchObject({ answered: true, parsed: false })
  }
})

// ~20 MB: under the 25 MB general body limit.
const HUGE = '{' + Array.from({ length: 1_700_000 }, (_, i) => `"k${i}":1`).join(',') + '}'

test('an unauthenticated 20 MB preflight body does not stall the gateway: /health answers within 500 ms meanwhile', async () => {
  expect(HUGE.length).toBeLessThan(26_214_400)
  const work = preflight(HUGE)
  const worst = await worstHealthDuring(gw.url, work)
  const answer = await work
  expect({ answered: [204, 413].includes(answer.status), status: answer.status, worstHealthMs: Math.round(worst) }).toMatchObject({ answered: true })
  expect(worst).toBeLessThan(500)
}, 60_000)
