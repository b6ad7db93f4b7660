/**
 * Whitespace around a whole model name was refused ("mock:gpt-mock "), but not around its model part, after the
 * provider's separator ("mock: gpt-mock", "mock/ gpt-mock", "mock:\u00a0gpt-mock": typed or pasted as
 * "provider: model"). That name resolves to the configured provider with the upstream id " gpt-mock", which no
 * client asks for: as a price it was a second row billing nobody while mock:gpt-mock kept its old price; as a
 * key's allow-list entry it allowed nothing. Such names are refused (400 naming the field); whitespace inside
 * a model id ("mock:modèle 2") stays valid.
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

const SPELLINGS = ['mock: gpt-mock', 'mock/ gpt-mock', 'mock:\u00a0gpt-mock', 'mock:\u3000gpt-mock', 'mock :gpt-mock']

for (const model of SPELLINGS) {
  test(`POST /v1/pricing for ${JSON.stringify(model)} is refused (400 naming model); no second row is added`, async () => {
    const res = await gw.admin('POST', '/v1/pricing', { model, input_per_million: 2, output_per_million: 4 })
    const priced = (await gw.admin('GET', '/v1/pricing')).body.data.map((p: any) => p.model).filter((m: string) => m !== 'mock:gpt-mock')
    expect({ status: res.status, priced }).toEqual({ status: 400, priced: [] })
    expect(res.body.error.message).toContain('model')
    expect((await gw.admin('GET', '/v1/pricing/mock:gpt-mock')).body).toMatchObject({ input_per_million: 1, output_per_million: 2 })
  })
}

test('a key allowed a model spelt with whitespace after its provider is refused (400 naming allowed_models), on create and on update', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'spaced-part' })).status).toBe(201)
  for (const model of SPELLINGS) {
    const created = await gw.admin('POST', '/v1/keys', { user_id: 'spaced-part', allowed_models: [model] })
    expect({ model, status: created.status }).toEqual({ model, status: 400 })
    expect(created.body.error.message).toContain('allowed_models')
  }
  expect((await gw.admin('GET', '/v1/keys?user_id=spaced-part')).body.data).toEqual([])

  const key = await gw.admin('POST', '/v1/keys', { user_id: 'spaced-part', allowed_models: ['mock:gpt-mock'] })
  expect(key.status).toBe(201)
  for (const model of SPELLINGS) expect((await gw.admin('PATCH', `/v1/keys/${key.body.id}`, { allowed_models: [model] })).status).toBe(400)
  expect((await gw.admin('GET', `/v1/keys/${key.body.id}`)).body.allowed_models).toEqual(['mock:gpt-mock'])
})

test('whitespace inside a model id stays valid: "mock:modèle 2" is priced and allowed as written', async () => {
  const priced = await gw.admin('POST', '/v1/pricing', { model: 'mock:modèle 2', input_per_million: 2, output_per_million: 4 })
  expect({ status: priced.status, model: priced.body.model }).toEqual({ status: 201, model: 'mock:modèle 2' })
  expect((await gw.admin('POST', '/v1/users', { id: 'spaced-inside' })).status).toBe(201)
  const key = await gw.admin('POST', '/v1/keys', { user_id: 'spaced-inside', allowed_models: ['mock:modèle 2'] })
  expect({ status: key.status, allowed: key.body.allowed_models }).toEqual({ status: 201, allowed: ['mock:modèle 2'] })
})
