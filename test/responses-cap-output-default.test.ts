import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * README/SPEC §6 (cap-output): with cap-output on, every provider is sent, in the field it reads, the output bound the
 * estimate used; a request without a max is held for `default_max_output_tokens`, so the default must go upstream, or
 * the provider writes up to the model's own maximum while the hold (and, capped at it, the charge) covers the default:
 * the gateway is billed for output it charges no one. Guards the native `/v1/responses` route (src/routes/responses.ts,
 * `responsesNative`), which chat's cap-output test does not reach.
 */
const DEFAULT_MAX = 20
const UNCAPPED_OUTPUT = 10_000

let upstream: ScriptedUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 100 } },
      cap_output_tokens: true,
      default_max_output_tokens: DEFAULT_MAX,
    },
  })
  upstream.answer(({ body }) => {
    const out = typeof body.max_output_tokens === 'number' ? body.max_output_tokens : UNCAPPED_OUTPUT
    return jsonResponse({
      id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: body.model,
      output: [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'x', annotations: [] }] }],
      usage: { input_tokens: 5, output_tokens: out, total_tokens: 5 + out },
    })
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

test('native /v1/responses without max_output_tokens: the provider is sent the default the hold covers', async () => {
  const { secret } = await gw.userWithKey({ id: 'resp-default', max_budget: 1 })
  const res = await fetch(gw.url + '/v1/responses', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', input: 'write a lot', store: false }),
  })
  await res.text()
  expect(res.status).toBe(200)
  expect(upstream.calls.at(-1)!.body.max_output_tokens).toBe(DEFAULT_MAX)
})
