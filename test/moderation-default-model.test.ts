import { afterAll, beforeAll, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * README "Model names as clients send them": OpenAI's `model` is optional on moderations (it then uses
 * `omni-moderation-latest`), and the openai SDK's documented call, `client.moderations.create({ input })`, names
 * none. With `default_providers.openai` the gateway serves it as that bare id, priced and logged as
 * `<default>:omni-moderation-latest`; without a default provider it cannot know where to send it: 400.
 */
let mock: MockProvider
let gw: TestGateway
let secret: string
let bare: TestGateway
let bareSecret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      default_providers: { openai: 'mock' },
      pricing: { 'mock:omni-moderation-latest': { input_per_million: 0, output_per_million: 0, per_request: 0.0001 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'mod-user', max_budget: 1 })).secret
  bare = await startTestGateway({ mock })
  bareSecret = (await bare.userWithKey({ id: 'mod-user', max_budget: 1 })).secret
})

afterAll(async () => {
  await gw.stop()
  await bare.stop()
  await mock.stop()
})

const usageRows = (g: TestGateway) => g.query<{ model: string; cost: number }>('SELECT model, cost FROM usage ORDER BY id')

test('naming the model by its bare id is served through the default provider (control)', async () => {
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
  const res = await client.moderations.create({ model: 'omni-moderation-latest', input: 'hello' })
  expect(res.results).toHaveLength(1)
})

test('moderations.create({ input }) with no model: served at omni-moderation-latest, billed its per_request price', async () => {
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
  await gw.settled()
  const before = usageRows(gw).length
  mock.reset()
  const res = await client.moderations.create({ input: 'hello' })
  expect(res.results).toHaveLength(1)
  expect(mock.calls.filter((c) => c.path === '/v1/moderations').map((c) => (c.body as { model: string }).model)).toEqual(['omni-moderation-latest'])
  await gw.settled()
  const rows = usageRows(gw)
  expect(rows).toHaveLength(before + 1)
  expect(rows.at(-1)).toMatchObject({ model: 'mock:omni-moderation-latest', cost: 100 })
})

test('no model and no default provider: 400 asking for a model, nothing sent upstream', async () => {
  mock.reset()
  const res = await fetch(`${bare.url}/v1/moderations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bareSecret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input: 'hello' }),
  })
  const body = (await res.json()) as { error: { message: string; param?: string } }
  expect(res.status).toBe(400)
  expect(body.error.message).toContain('name a model')
  expect(body.error.param).toBe('model')
  expect(mock.calls).toHaveLength(0)
})
