/**
 * SPEC §3: provider error text is summarised, "never forwarded with credentials". A provider's credential may
 * sit in its `base_url` userinfo (`https://user:pass@proxy/v1`, a basic-auth proxy in front of vLLM): Bun's fetch
 * sends it as `Authorization: Basic base64(user:pass)`, decoded. A provider that quotes what it received must not
 * hand it to the client, as the same credential given in `headers` is not (test/upstream-redact.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Server } from 'bun'
import type { ProviderConfig } from '../src/config/schema'
import { secretsOf } from '../src/providers/upstream'
import { startTestGateway, type TestGateway } from './support/gateway'

const PASSWORD = 'pr0xy-Passw0rd-7f3c9a'
const BASIC = Buffer.from(`alice:${PASSWORD}`).toString('base64')

let upstream: Server<unknown>
const seen: Array<{ url: string; authorization: string | null }> = []
let gw: TestGateway
let secret: string

beforeAll(async () => {
  // A proxy that quotes the credential it received in a 400 (as LiteLLM quotes the key it was given).
  upstream = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const auth = req.headers.get('authorization')
      seen.push({ url: req.url, authorization: auth })
      const url = new URL(req.url)
      return Response.json(
        { error: { message: `Bad request to ${url.pathname}${url.search}; received authorization ${auth}; user ${decodeURIComponent(url.username)}` } },
        { status: 400 },
      )
    },
  })
  gw = await startTestGateway({
    config: {
      providers: { basic: { type: 'openai', base_url: `http://alice:${PASSWORD}@127.0.0.1:${upstream.port}/v1` } },
      pricing: { 'basic:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'bq-url-cred', max_budget: 1 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop(true)
})

describe('a credential in a provider base_url', () => {
  test('userinfo (sent as Basic auth) quoted back by the provider is not forwarded to the client', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'basic:m', messages: [{ role: 'user', content: 'hi' }] }),
    })
    const text = await res.text()
    // The credential did reach the provider, as Basic auth: it is one the gateway sends.
    expect(seen.at(-1)?.authorization).toBe(`Basic ${BASIC}`)
    expect(res.status).toBe(400)
    expect(text).not.toContain(BASIC)
    expect(text).not.toContain(PASSWORD)
  })

  test('percent-encoded userinfo is cut as the provider receives it: decoded, and as base64(user:pass)', () => {
    const provider: ProviderConfig = { type: 'openai', base_url: 'https://gateway-user:p%40ss%3Aw0rd-91ab@proxy.example/v1', api_key: '', headers: {} }
    expect(secretsOf(provider)).toEqual(expect.arrayContaining([
      'gateway-user',
      'p@ss:w0rd-91ab',
      Buffer.from('gateway-user:p@ss:w0rd-91ab').toString('base64'),
    ]))
  })
})
