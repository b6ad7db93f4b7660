/**
 * A key's `allowed_models` names whole models (README "Model names as clients send them": an entry allows that
 * name, or the model reached as `provider:model`). An entry is no prefix: a key allowed the cheap `mock:gpt-5`
 * must not reach the dear `mock:gpt-5-pro`, nor a bare `gpt-5` entry the bare `gpt-5-pro`. Refused 403
 * `model_not_allowed` before any hold or provider call, and not listed by GET /v1/models.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
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
      pricing: {
        'mock:gpt-5': { input_per_million: 1, output_per_million: 2 },
        'mock:gpt-5-pro': { input_per_million: 15, output_per_million: 120 },
      },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

const chat = async (secret: string, model: string) => {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  })
  return [res.status, ((await res.json()) as any).error?.code ?? null]
}
const listed = async (secret: string) => {
  const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
  return ((await res.json()) as any).data.map((m: any) => m.id) as string[]
}

test('an entry allows its own model, not one whose name it starts', async () => {
  const { secret } = await gw.userWithKey({ id: 'allow-canonical' }, { allowed_models: ['mock:gpt-5'] })
  expect(await chat(secret, 'mock:gpt-5')).toEqual([200, null])
  mock.reset()
  expect(await chat(secret, 'mock:gpt-5-pro')).toEqual([403, 'model_not_allowed'])
  expect(mock.calls.length).toBe(0)
  expect(await listed(secret)).not.toContain('mock:gpt-5-pro')
})

test('a bare entry allows the bare name, not a longer one', async () => {
  const { secret } = await gw.userWithKey({ id: 'allow-bare' }, { allowed_models: ['gpt-5'] })
  expect(await chat(secret, 'gpt-5')).toEqual([200, null])
  mock.reset()
  expect(await chat(secret, 'gpt-5-pro')).toEqual([403, 'model_not_allowed'])
  expect(mock.calls.length).toBe(0)
})
