/**
 * The free pass-through calls (`callUnmetered`: POST /v1/responses/input_tokens, GET/DELETE
 * /v1/responses/{id}) refuse a provider's redirect, as every metered call does (test/upstream-redirect.test.ts):
 * followed, a 307 to another origin would receive the provider's credentials (Anthropic's `x-api-key` and any
 * configured header, a proxy token: only `Authorization` is dropped on a cross-origin redirect).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const PROXY_TOKEN = 'proxy-token-5d1e9c3b7a2f'

let upstream: ScriptedUpstream
let elsewhere: ReturnType<typeof Bun.serve>
const received: Array<{ path: string; headers: Record<string, string> }> = []
let gw: TestGateway
let secret: string

beforeAll(async () => {
  elsewhere = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      received.push({ path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers) })
      return Response.json({ object: 'response.input_tokens', input_tokens: 3 })
    },
  })
  upstream = startScriptedUpstream()
  const providers = scriptedProviders(upstream)
  gw = await startTestGateway({
    config: {
      providers: {
        plain: { ...providers.plain, headers: { 'x-proxy-token': PROXY_TOKEN } },
        ant: { ...providers.ant, headers: { 'x-proxy-token': PROXY_TOKEN } },
      },
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'ant:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'team-f-redirect', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
  await elsewhere.stop(true)
})

describe('a provider redirecting a free pass-through call', () => {
  for (const model of ['plain:m', 'ant:m'])
    test(`POST /v1/responses/input_tokens on ${model}: a 307 to another origin is not followed, no credential reaches it`, async () => {
      received.length = 0
      upstream.answer(({ path }) => new Response(null, { status: 307, headers: { location: `http://127.0.0.1:${elsewhere.port}${path}` } }))
      const res = await fetch(`${gw.url}/v1/responses/input_tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, input: 'hello' }),
      })
      const text = await res.text()
      const leaked = received.map((r) => ({ path: r.path, 'x-api-key': r.headers['x-api-key'], 'x-proxy-token': r.headers['x-proxy-token'], authorization: r.headers.authorization }))
      expect(leaked).toEqual([])
      expect(res.status).toBe(502)
      expect(text).toContain('a redirect')
    })
})
