/**
 * `tollgate_refusals_total` counts what the gateway itself refused (a budget, a price, a rate limit, a bad key…).
 * A client that went away (499) and a provider's own 4xx passed on to the client are no refusal of the gateway's:
 * counted there, they made a dashboard of refusals climb for a provider out of credits or for clients that gave
 * up. Each has a series of its own.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const TOKEN = 'metrics-token-0123456789'
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } },
      metrics_enabled: true,
      metrics_token: TOKEN,
      log_level: 'silent',
    },
  })
  secret = (await gw.userWithKey({ id: 'refusal-series', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const chat = (init: { model?: string; stream?: boolean; signal?: AbortSignal } = {}) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: init.model ?? 'plain:m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, stream: init.stream ?? false }),
    signal: init.signal,
  })
const scrape = async () => (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text()
const series = (text: string, name: string) => text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))

test("a provider's 429 and 400 passed on are counted as the provider's, not as the gateway's refusals", async () => {
  upstream.answer(() => jsonResponse({ error: { message: 'slow down', type: 'rate_limit' } }, 429))
  expect((await chat()).status).toBe(429)
  upstream.answer(() => jsonResponse({ error: { message: 'bad field', type: 'invalid_request_error' } }, 400))
  expect((await chat()).status).toBe(400)
  await gw.settled()

  const text = await scrape()
  expect(series(text, 'tollgate_refusals_total')).toEqual([])
  expect(text).toContain('tollgate_upstream_refusals_total{code="upstream_rate_limited"} 1\n')
  expect(text).toContain('tollgate_upstream_refusals_total{code="upstream_rejected"} 1\n')
})

test('a client that went away before the provider answered is a disconnect, not a refusal', async () => {
  let answered = () => {}
  const held = new Promise<void>((resolve) => (answered = resolve))
  upstream.answer(async () => {
    await held
    return jsonResponse({ error: { message: 'too late' } }, 500)
  })
  const leaving = new AbortController()
  const call = chat({ stream: true, signal: leaving.signal }).catch((error: Error) => error)
  await Bun.sleep(200)
  leaving.abort()
  expect(await call).toBeInstanceOf(Error)
  // The gateway answers its 499 to nobody once its provider call is cut; give it that moment.
  let text = ''
  for (let i = 0; i < 50 && !text.includes('status="499"'); i++) {
    await Bun.sleep(20)
    text = await scrape()
  }
  answered()
  expect(text).toMatch(/tollgate_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="499"\} 1\n/)
  expect(series(text, 'tollgate_refusals_total')).toEqual([])
})

test("the gateway's own refusals are still counted by code", async () => {
  expect((await chat({ model: 'plain:unpriced' })).status).toBe(402)
  const text = await scrape()
  expect(series(text, 'tollgate_refusals_total')).toEqual(['tollgate_refusals_total{code="pricing_required"} 1'])
})
