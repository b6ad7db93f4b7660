/**
 * SPEC §3: `GET /v1/models` answers "what this key may call, with prices". An allow-list may name a bare id
 * (README "Model names as clients send them": it "allows the name on every route, at whichever provider the
 * route's default sends it to"). A key allowed only `gpt-5`, with `default_providers.openai` sending it to
 * `mock:gpt-5` (priced), calls `gpt-5` on chat, and finds it in its list under that name with that model's
 * price; it found none when the list walked only price rows (by `provider:model`) and aliases. The list's
 * format picks the default: in Anthropic's (`anthropic-version`), a bare id is the Anthropic default's model,
 * and with none configured it is not listed, as `/v1/messages` could not serve it.
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
      default_providers: { openai: 'mock' },
      pricing: { 'mock:gpt-5': { input_per_million: 1, output_per_million: 2 }, 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('a key allowed a bare id sees that model (with its price) in GET /v1/models', async () => {
  const { secret } = await gw.userWithKey({ id: 'bq-bare-list' }, { allowed_models: ['gpt-5'] })
  const client = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
  // It may call it, by the name it was allowed.
  const done = await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] })
  expect(done.choices.length).toBe(1)
  const list = await client.models.list()
  const listed = list.data.map((m) => m.id)
  expect(listed).toContain('gpt-5')
  expect((list.data.find((m) => m.id === 'gpt-5') as any)?.pricing?.input_per_million).toBe(1)
  // And nothing it may not call.
  expect(listed).not.toContain('mock:gpt-mock')
  // Anthropic's format lists what /v1/messages would serve: no Anthropic default here, so not the bare id.
  const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}`, 'anthropic-version': '2023-06-01' } })
  expect(((await res.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id)).not.toContain('gpt-5')
})
