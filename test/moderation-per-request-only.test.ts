import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * Mutation guard. README: moderations "cost their `per_request` price or $0"; the hold is that price and no
 * tokens (src/budget/estimate.ts `perRequestEstimate`). Some compatible servers answer a moderation with a `usage`
 * (Mistral's does): counted as prompt tokens at the row's input rate, the charge passes the hold and the
 * documented price. The mock's moderation answer carries no usage, so a route that read it (a copy of embeddings'
 * `usageOf`) passed every existing test.
 */
const USER = 'moderation'
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      // A row with token rates beside its per-request price (as `prices set` keeps them): $1 a million input tokens.
      pricing: { 'plain:moderation': { input_per_million: 1, output_per_million: 1, per_request: 0.002 } },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

test('a moderation answer that reports tokens still costs only its per_request price', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'modr-1',
      model: 'moderation',
      results: [{ flagged: false, categories: {}, category_scores: {} }],
      usage: { prompt_tokens: 1000, completion_tokens: 0, total_tokens: 1000 },
    }),
  )
  const res = await fetch(`${gw.url}/v1/moderations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:moderation', input: 'be nice' }),
  })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  await gw.settled()
  const user = (await gw.admin('GET', `/v1/users/${USER}`)).body
  expect(user.reserved).toBe(0)
  expect(user.spend).toBe(0.002)
})
