/**
 * A key's allow-list names models as long as a price may (256 characters, provider:model): its entries were capped
 * at 200, so a model of 201–256 characters could be priced and served but never allow-listed, and a key restricted
 * to a list could not be given it.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

test('a priced model of 256 characters can be put on a key\'s allow-list and called with it; 257 is refused as a price is', async () => {
  const model = `mock:${'m'.repeat(251)}`
  expect(model.length).toBe(256)
  expect((await gw.admin('POST', '/v1/pricing', { model, input_per_million: 1, output_per_million: 2 })).status).toBe(201)
  await gw.admin('POST', '/v1/users', { id: 'long-allowed', max_budget: 5 })
  const key = await gw.admin('POST', '/v1/keys', { user_id: 'long-allowed', allowed_models: [model] })
  expect(key.status).toBe(201)
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.body.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  expect((await gw.admin('POST', '/v1/keys', { user_id: 'long-allowed', allowed_models: [`${model}x`] })).status).toBe(400)
  expect((await gw.admin('POST', '/v1/pricing', { model: `${model}x`, input_per_million: 1, output_per_million: 2 })).status).toBe(400)
})
