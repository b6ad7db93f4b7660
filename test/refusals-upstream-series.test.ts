/**
 * /v1/audit/refusals charts the gateway's refusals per day: 402 budget, 402 pricing, 403 (forbidden) and 429
 * (rate limited). A provider's own 429 (answered as 429 `upstream_rate_limited`) and a provider's 402 (OpenRouter's
 * "insufficient credits", answered as 402 `upstream_rejected`) are the provider's, charted apart as `upstream`; they
 * were once counted by status, and every code the chart did not know was put in the 403 series, so the console
 * showed 403s that never happened. A code of no series is in the totals per code only.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } } },
  })
  secret = (await gw.userWithKey({ id: 'refusals-upstream', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const chat = () =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  })

const total = (values: number[]) => values.reduce((a, b) => a + b, 0)
const totals = (series: Record<string, number[]>) => Object.fromEntries(Object.entries(series).map(([kind, values]) => [kind, total(values)]))

test("a provider's 429 and 402 are charted apart as upstream, not as the gateway's 403 or 429", async () => {
  const error = (status: number) => () => Response.json({ error: { message: 'slow down / no credits', type: 'x' } }, { status })
  upstream.answer(error(429))
  expect((await chat()).status).toBe(429)
  upstream.answer(error(402))
  expect((await chat()).status).toBe(402)
  await gw.settled()

  const refusals = await gw.admin('GET', '/v1/audit/refusals?days=1')
  expect(refusals.status).toBe(200)
  expect(totals(refusals.body.series)).toEqual({ budget: 0, pricing: 0, forbidden: 0, rate_limited: 0, upstream: 2 })
  expect(refusals.body.codes).toEqual({ upstream_rate_limited: 1, upstream_rejected: 1 })
})

test('a code of no series is counted under its code and charted in none', async () => {
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000
  gw.exec('INSERT INTO refusal_counts (hour, code, count) VALUES (?, ?, ?)', hour, 'some_future_code', 3)
  const refusals = await gw.admin('GET', '/v1/audit/refusals?days=1')
  expect(refusals.body.codes.some_future_code).toBe(3)
  expect(totals(refusals.body.series)).toEqual({ budget: 0, pricing: 0, forbidden: 0, rate_limited: 0, upstream: 2 })
})
