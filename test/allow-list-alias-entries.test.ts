import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * An allow-list entry that is an alias allows that alias by its own name, nothing else (src/keys/caller.ts;
 * test/surface-openai.test.ts: an alias entry does not even allow its own target by its canonical name). An
 * operator who maps the OpenRouter-style id `mock/gpt-4o` to a cheap model (`mock:gpt-4o-mini`) and restricts
 * a key to that alias has not allowed the real, dearer `mock:gpt-4o` (the entry's `provider:model` spelling).
 * Likewise an alias named `mock:gpt-4o-2` does not allow the real model reached as `mock/gpt-4o-2`.
 */
let mock: MockProvider
let gw: TestGateway
let secret: string
let colonAliasSecret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      aliases: { 'mock/gpt-4o': 'mock:gpt-4o-mini', 'mock:gpt-4o-2': 'mock:gpt-4o-mini' },
      pricing: {
        'mock:gpt-4o': { input_per_million: 2.5, output_per_million: 10 },
        // The real model: `mock:gpt-4o-2` is the alias.
        'mock/gpt-4o-2': { input_per_million: 2.5, output_per_million: 10 },
        'mock:gpt-4o-mini': { input_per_million: 0.15, output_per_million: 0.6 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: 'alias-entry' }, { allowed_models: ['mock/gpt-4o'] })).secret
  colonAliasSecret = (await gw.userWithKey({ id: 'alias-entry-colon' }, { allowed_models: ['mock:gpt-4o-2'] })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

const chat = async (model: string, key = secret) => {
  const r = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  })
  return { status: r.status, body: (await r.json()) as any }
}

describe('a key allowed only an alias written provider/model', () => {
  test('calls the alias (its cheap target)', async () => {
    expect((await chat('mock/gpt-4o')).status).toBe(200)
    expect((mock.calls[0]!.body as any).model).toBe('gpt-4o-mini')
  })

  test('cannot reach the real model the alias name spells, written provider:model: 403, no provider call', async () => {
    const r = await chat('mock:gpt-4o')
    expect(mock.calls.map((c) => (c.body as any)?.model)).toEqual([])
    expect(r.status).toBe(403)
    expect(r.body.error.code).toBe('model_not_allowed')
  })

  test('the same on the free count_tokens route', async () => {
    const r = await fetch(`${gw.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'mock:gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(r.status).toBe(403)
  })

  test('/v1/models lists the alias only, not the real model', async () => {
    const r = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
    expect(((await r.json()) as any).data.map((m: { id: string }) => m.id)).toEqual(['mock/gpt-4o'])
  })
})

describe('a key allowed only an alias written provider:model', () => {
  test('calls the alias (its cheap target)', async () => {
    expect((await chat('mock:gpt-4o-2', colonAliasSecret)).status).toBe(200)
    expect((mock.calls[0]!.body as any).model).toBe('gpt-4o-mini')
  })

  test('cannot reach the real model of that name, written provider/model: 403, no provider call', async () => {
    const r = await chat('mock/gpt-4o-2', colonAliasSecret)
    expect(mock.calls).toEqual([])
    expect(r.status).toBe(403)
    expect(r.body.error.code).toBe('model_not_allowed')
  })
})
