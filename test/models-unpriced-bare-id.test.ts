/**
 * Mutation guard. README (`GET /v1/models/{id}`): 404 for a model "that has no price while pricing is
 * required; the list leaves the same out". A key's allow-list may name a bare id the default provider serves; when
 * that model has no price, the key cannot call it (402 `pricing_required`), so `GET /v1/models` must not offer it —
 * a client picking from the list (an IDE's model picker) would pick a model every request of which is refused.
 *
 * Kills: src/routes/models.ts modelsFor, bare-id loop: `if (price || !config.require_pricing) data.push(...)` →
 * `data.push(...)`, which models-bare-allowed, bare-models, surface-openai and edge-limits all survived.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      require_pricing: true,
      default_providers: { openai: 'mock', anthropic: 'mock' },
      pricing: { 'mock:gpt-5': { input_per_million: 1, output_per_million: 2 } },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('an allow-listed bare id whose model has no price is refused, and neither listed nor retrievable', async () => {
  const { secret } = await gw.userWithKey({ id: 'ku-bare-unpriced', max_budget: 10 }, { allowed_models: ['gpt-5', 'gpt-unpriced'] })
  const client = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
  // The priced bare id is served and listed (control).
  const done = await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] })
  expect(done.choices.length).toBe(1)
  // The unpriced one is refused before the provider.
  mock.reset()
  const refused = await client.chat.completions.create({ model: 'gpt-unpriced', messages: [{ role: 'user', content: 'hi' }] }).then(
    () => null,
    (e: any) => ({ status: e.status, code: e.code }),
  )
  expect(refused).toEqual({ status: 402, code: 'pricing_required' })
  expect(mock.calls.length).toBe(0)
  // So the list offers the one and not the other, in both formats.
  const listed = (await client.models.list()).data.map((m) => m.id)
  expect(listed).toContain('gpt-5')
  expect(listed).not.toContain('gpt-unpriced')
  const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}`, 'anthropic-version': '2023-06-01' } })
  const anthropicIds = ((await res.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id)
  expect(anthropicIds).toContain('gpt-5')
  expect(anthropicIds).not.toContain('gpt-unpriced')
  // And retrieve agrees with the list.
  const one = await fetch(`${gw.url}/v1/models/gpt-unpriced`, { headers: { authorization: `Bearer ${secret}` } })
  expect(one.status).toBe(404)
})
