import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * SPEC §2: secrets are never returned by any endpoint. A basic-auth proxy whose base_url carries its token as the
 * user name (`https://<token>@proxy/v1`, no password, or a dummy one as in `<api key>:X`) is sent by fetch as
 * `Authorization: Basic base64("<token>:")`. An echo of the request (httpbin's /anything behind a mistyped
 * base_url) quotes that header back. The Basic token counted only when the *password* looked issued, so such an
 * echo was relayed with 200 and the client could decode the proxy's token: it counts when the user name does too.
 */
const TOKEN = 'pxk7Qm2Zt4Lp9Wc3Rb8Nv1Hd'
let upstream: ReturnType<typeof Bun.serve>
let gw: TestGateway
beforeAll(async () => {
  // An echo service: answers 200 JSON with the headers it received, httpbin-style.
  upstream = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (req) => Response.json({ headers: Object.fromEntries(req.headers), url: req.url }) })
  const host = `127.0.0.1:${upstream.port}`
  const price = { input_per_million: 1, output_per_million: 2 }
  gw = await startTestGateway({
    config: {
      providers: {
        userOnly: { type: 'openai', base_url: `http://${TOKEN}@${host}/v1`, api_key: '' },
        dummyPassword: { type: 'openai', base_url: `http://${TOKEN}:X@${host}/v1`, api_key: '' },
      },
      pricing: { 'userOnly:m': price, 'dummyPassword:m': price },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop(true)
})

async function ask(path: string, model: string) {
  const { secret } = await gw.userWithKey({ id: `u-${model.replace(':', '-')}`, max_budget: 10 })
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }),
  })
  const text = await res.text()
  const basic = Buffer.from(`${TOKEN}:`).toString('base64').slice(0, 24)
  return { status: res.status, leaked: text.includes(TOKEN) || text.includes(basic) }
}

test('an echo of the Basic token made of a base_url user-name token is refused (token@host)', async () => {
  expect(await ask('/v1/chat/completions', 'userOnly:m')).toEqual({ status: 502, leaked: false })
})

test('an echo of the Basic token made of a base_url user-name token is refused (token:X@host)', async () => {
  expect(await ask('/v1/chat/completions', 'dummyPassword:m')).toEqual({ status: 502, leaked: false })
})
