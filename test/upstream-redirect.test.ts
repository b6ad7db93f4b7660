/**
 * Issue 12 item 8: a provider's redirect is never followed. A 307 to another origin would receive the
 * provider's credentials (Anthropic's `x-api-key`, configured headers); instead the 3xx is an upstream
 * failure: 502 with a summary, the hold released, and the other origin never called.
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
      return Response.json({ id: 'x', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } })
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
  secret = (await gw.userWithKey({ id: 'team-redirect', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
  await elsewhere.stop(true)
})

const CALLS = [
  { path: '/v1/chat/completions', model: 'plain:m', stream: false },
  { path: '/v1/chat/completions', model: 'plain:m', stream: true },
  { path: '/v1/chat/completions', model: 'ant:m', stream: false },
  { path: '/v1/messages', model: 'ant:m', stream: false },
  { path: '/v1/messages', model: 'ant:m', stream: true },
  { path: '/v1/embeddings', model: 'plain:m', stream: false },
]

const bodyFor = (c: (typeof CALLS)[number]) =>
  c.path === '/v1/embeddings'
    ? { model: c.model, input: 'hello' }
    : { model: c.model, max_tokens: 16, stream: c.stream, messages: [{ role: 'user', content: 'hello' }] }

describe('a provider that answers with a redirect', () => {
  for (const status of [301, 302, 303, 307, 308]) {
    test(`${status} to another origin: 502 naming the redirect, released, the other origin never called`, async () => {
      upstream.answer(({ path }) => new Response(null, { status, headers: { location: `http://127.0.0.1:${elsewhere.port}${path}` } }))
      for (const c of CALLS) {
        const label = `${c.path} ${c.model}${c.stream ? ' stream' : ''}`
        const res = await fetch(`${gw.url}${c.path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify(bodyFor(c)),
        })
        const text = await res.text()
        expect({ label, status: res.status }).toEqual({ label, status: 502 })
        expect({ label, redirect: text.includes(`answered ${status}, a redirect`) }).toEqual({ label, redirect: true })
        expect(text).not.toContain(String(elsewhere.port))
      }
      expect(received).toEqual([])
      const user = await gw.admin('GET', '/v1/users/team-redirect')
      expect(user.body).toMatchObject({ spend: 0, reserved: 0 })
    })
  }
})
