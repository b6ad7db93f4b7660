/**
 * README (Pricing): a model name with whitespace around it or either side of the first `:` or `/` — "any Unicode
 * whitespace" — is refused with a 400 naming the field, never stored. U+0085 (NEXT LINE) is Unicode White_Space
 * but not JavaScript's `\s` (nor what String's trim removes), so it was let through: a price row for a name no
 * client asks for (the model meant keeps its old price), an allow-list entry that allows nothing. The console,
 * which trims what the API refuses, left it on the name too.
 */
import { expect, test } from 'bun:test'
import { typedModelName } from '../ui/src/typed-model-name'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

const SPELLINGS = ['mock:gpt-mock\u0085', '\u0085mock:gpt-mock', 'mock:\u0085gpt-mock', 'mock\u0085:gpt-mock']
const shown = (model: string) => JSON.stringify(model).replace('\u0085', '<U+0085>')

for (const model of SPELLINGS) {
  test(`POST /v1/pricing for ${shown(model)} → 400 naming model; no row added`, async () => {
    const res = await gw.admin('POST', '/v1/pricing', { model, input_per_million: 2, output_per_million: 4 })
    expect(res.status).toBe(400)
    expect(res.body.error.message).toContain('model')
    expect((await gw.admin('GET', '/v1/pricing')).body.data.map((p: any) => p.model)).toEqual(['mock:gpt-mock'])
    expect((await gw.admin('GET', '/v1/pricing/mock:gpt-mock')).body).toMatchObject({ input_per_million: 1, output_per_million: 2 })
  })
}

test('a key allowed a model spelt with U+0085 around it is refused (400), on create and on update', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'nel' })).status).toBe(201)
  for (const model of SPELLINGS) {
    const created = await gw.admin('POST', '/v1/keys', { user_id: 'nel', allowed_models: [model] })
    expect({ model: shown(model), status: created.status }).toEqual({ model: shown(model), status: 400 })
    expect(created.body.error.message).toContain('allowed_models')
  }
  const key = await gw.admin('POST', '/v1/keys', { user_id: 'nel', allowed_models: ['mock:gpt-mock'] })
  expect(key.status).toBe(201)
  for (const model of SPELLINGS) {
    const updated = await gw.admin('PATCH', `/v1/keys/${key.body.id}`, { allowed_models: [model] })
    expect({ model: shown(model), status: updated.status }).toEqual({ model: shown(model), status: 400 })
  }
  expect((await gw.admin('GET', `/v1/keys/${key.body.id}`)).body.allowed_models).toEqual(['mock:gpt-mock'])
})

test('the console trims U+0085 off a typed model name, as it does any whitespace the API refuses', () => {
  for (const model of SPELLINGS) expect({ model: shown(model), typed: typedModelName(model) }).toEqual({ model: shown(model), typed: 'mock:gpt-mock' })
  expect(typedModelName('mock:modèle\u00852')).toBe('mock:modèle\u00852')
})
