/**
 * A model name written through the admin API with whitespace around it ("mock:gpt-mock ", pasted from a
 * provider's page or a log line) names no model a client asks for: as a price it was a second row, listed
 * beside the real model and billing nobody, while the model meant kept its old price; as a key's allow-list
 * entry it allowed nothing. Both are refused (400 naming the field) and nothing is written.
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

const SPELLINGS = ['mock:gpt-mock ', ' mock:gpt-mock', 'mock:gpt-mock\t', 'mock:gpt-mock\u00a0']

for (const model of SPELLINGS) {
  test(`POST /v1/pricing for ${JSON.stringify(model)} → 400 naming model; mock:gpt-mock keeps its price and no other row is added`, async () => {
    const res = await gw.admin('POST', '/v1/pricing', { model, input_per_million: 2, output_per_million: 4 })
    expect(res.status).toBe(400)
    expect(res.body.error.message).toContain('model')
    expect(res.body.error.message).toContain('whitespace')
    const priced = (await gw.admin('GET', '/v1/pricing')).body.data.map((p: any) => p.model)
    expect(priced).toEqual(['mock:gpt-mock'])
    expect((await gw.admin('GET', '/v1/pricing/mock:gpt-mock')).body).toMatchObject({ input_per_million: 1, output_per_million: 2 })
  })
}

test('a key allowed a model spelt with whitespace around it is refused, on create and on update, and nothing changes', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'spaced-models' })).status).toBe(201)
  for (const model of SPELLINGS) {
    const created = await gw.admin('POST', '/v1/keys', { user_id: 'spaced-models', allowed_models: ['mock:gpt-mock', model] })
    expect({ model, status: created.status }).toEqual({ model, status: 400 })
    expect(created.body.error.message).toContain('allowed_models')
  }
  expect((await gw.admin('GET', '/v1/keys?user_id=spaced-models')).body.data).toEqual([])

  const key = await gw.admin('POST', '/v1/keys', { user_id: 'spaced-models', allowed_models: ['mock:gpt-mock'] })
  expect(key.status).toBe(201)
  for (const model of SPELLINGS) {
    const updated = await gw.admin('PATCH', `/v1/keys/${key.body.id}`, { allowed_models: [model] })
    expect({ model, status: updated.status }).toEqual({ model, status: 400 })
  }
  expect((await gw.admin('GET', `/v1/keys/${key.body.id}`)).body.allowed_models).toEqual(['mock:gpt-mock'])
})
