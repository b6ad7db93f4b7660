import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startClientSetup, type ClientSetup } from './support/clients'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

setDefaultTimeout(30_000)

/**
 * `client.models.retrieve(id)` in both official SDKs (`GET /v1/models/{id}`): a client that checks its
 * configured model before using it gets the model, as from the provider, not 404 "Unknown route." for a
 * model the same key finds in `models.list()` and may call.
 */
let setup: ClientSetup

beforeAll(async () => {
  setup = await startClientSetup()
})
afterAll(() => setup?.stop())

test('openai models.retrieve: a model models.list shows is found', async () => {
  const openai = new OpenAI({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret, maxRetries: 0 })
  const listed: string[] = []
  for await (const m of openai.models.list()) listed.push(m.id)
  expect(listed).toContain('mock:gpt-mock')
  const model = await openai.models.retrieve('mock:gpt-mock').catch((e) => String(e))
  expect(model).toMatchObject({ id: 'mock:gpt-mock', object: 'model' })
})

test('anthropic models.retrieve: a model models.list shows is found', async () => {
  const anthropic = new Anthropic({ baseURL: setup.gw.url, apiKey: setup.secret, maxRetries: 0 })
  const listed: string[] = []
  for await (const m of anthropic.models.list()) listed.push(m.id)
  expect(listed).toContain('mockant:claude-mock')
  const model = await anthropic.models.retrieve('mockant:claude-mock').catch((e) => String(e))
  expect(model).toMatchObject({ id: 'mockant:claude-mock', type: 'model' })
})

describe('GET /v1/models/{id}', () => {
  let mock: MockProvider
  let gw: TestGateway
  beforeAll(async () => {
    mock = startMockProvider()
    gw = await startTestGateway({
      mock,
      config: {
        aliases: { 'team/fast': 'mock:gpt-mock' },
        pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:gpt-big': { input_per_million: 5, output_per_million: 20 } },
      },
    })
  })
  afterAll(async () => {
    await gw.stop()
    await mock.stop()
  })

  const get = (secret: string, id: string) => fetch(`${gw.url}/v1/models/${id}`, { headers: { authorization: `Bearer ${secret}` } })

  test('an id with a slash (an alias), as the SDK sends it (percent-encoded) and as written, with its price', async () => {
    const { secret } = await gw.userWithKey({ id: 'retrieve-slash' })
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
    expect(await openai.models.retrieve('team/fast')).toMatchObject({ id: 'team/fast', object: 'model', owned_by: 'mock' })
    const res = await get(secret, 'team/fast')
    expect(res.status).toBe(200)
    expect(((await res.json()) as any).pricing.input_per_million).toBe(1)
  })

  test('a model the key may not call, or none, is 404', async () => {
    const { secret } = await gw.userWithKey({ id: 'retrieve-allowed' }, { allowed_models: ['mock:gpt-mock'] })
    expect((await get(secret, 'mock:gpt-mock')).status).toBe(200)
    expect((await get(secret, 'mock:gpt-big')).status).toBe(404)
    expect((await get(secret, 'mock:none')).status).toBe(404)
    expect((await get(secret, '%E0%A4%A')).status).toBe(404)
    expect((await fetch(`${gw.url}/v1/models/mock:gpt-mock`)).status).toBe(401)
  })
})
