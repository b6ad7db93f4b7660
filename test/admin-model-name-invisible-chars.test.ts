/**
 * Whitespace around a model name is refused (test/admin-model-name-whitespace.test.ts), but the characters a name
 * pasted from a web page or a chat actually drags along are often not \s: a zero-width space (U+200B), a word
 * joiner (U+2060), a soft hyphen (U+00AD), a left-to-right mark (U+200E), a byte-order mark (U+FEFF). Accepted,
 * "mock:gpt-mock\u200b" was a second price row that looked like mock:gpt-mock in every table and billed nobody,
 * while the model meant kept its old, lower price. Unicode format characters (Cf) are refused anywhere in a
 * written model name, as a price's model and as a key's allow-list entry, with a 400 naming the field.
 */
import { expect, test } from 'bun:test'
import { typedModelName } from '../ui/src/typed-model-name'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

const INVISIBLE = ['\u200b', '\u2060', '\u00ad', '\u200e', '\ufeff']
const codePoint = (ch: string) => `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`
const otherPricedModels = async () =>
  (await gw.admin('GET', '/v1/pricing')).body.data.map((p: any) => p.model).filter((m: string) => m !== 'mock:gpt-mock')

for (const ch of INVISIBLE) {
  for (const model of [`mock:gpt-mock${ch}`, `mock:${ch}gpt-mock`, `mock:gpt${ch}-mock`]) {
    test(`POST /v1/pricing for ${JSON.stringify(model)} (${codePoint(ch)}) → 400 naming model; no row billing nobody`, async () => {
      const res = await gw.admin('POST', '/v1/pricing', { model, input_per_million: 100, output_per_million: 200 })
      expect(res.status).toBe(400)
      expect(res.body.error.message).toContain('model')
      expect(await otherPricedModels()).toEqual([])
      // The model every client calls keeps its price, and the operator was told so.
      expect((await gw.admin('GET', '/v1/pricing/mock:gpt-mock')).body).toMatchObject({ input_per_million: 1, output_per_million: 2 })
    })
  }
}

test('a key allowed a model spelt with an invisible format character is refused, on create and on update', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'invisible-models' })).status).toBe(201)
  for (const ch of INVISIBLE) {
    const created = await gw.admin('POST', '/v1/keys', { user_id: 'invisible-models', allowed_models: [`mock:gpt${ch}-mock`] })
    expect({ ch: codePoint(ch), status: created.status }).toEqual({ ch: codePoint(ch), status: 400 })
    expect(created.body.error.message).toContain('allowed_models')
  }
  expect((await gw.admin('GET', '/v1/keys?user_id=invisible-models')).body.data).toEqual([])

  const key = await gw.admin('POST', '/v1/keys', { user_id: 'invisible-models', allowed_models: ['mock:gpt-mock'] })
  expect(key.status).toBe(201)
  for (const ch of INVISIBLE) {
    const updated = await gw.admin('PATCH', `/v1/keys/${key.body.id}`, { allowed_models: [`mock:${ch}gpt-mock`] })
    expect({ ch: codePoint(ch), status: updated.status }).toEqual({ ch: codePoint(ch), status: 400 })
  }
  expect((await gw.admin('GET', `/v1/keys/${key.body.id}`)).body.allowed_models).toEqual(['mock:gpt-mock'])
})

test('the console reads a pasted name with invisible format characters as the model it shows', () => {
  for (const ch of INVISIBLE) expect(typedModelName(`mock:${ch}gpt-mock${ch} `)).toBe('mock:gpt-mock')
})
