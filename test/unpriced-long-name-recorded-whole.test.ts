/**
 * A model refused for want of a price is recorded (GET /v1/pricing/unpriced), alerted on and named in its 402 under the
 * name a price can be set for. Cut to 200 UTF-16 units while a request and a price may name 256, a 225-unit name was
 * recorded cut: the operator priced the name the record showed (the console's price form, filled from the record), the
 * record then said `priced: true` and the default list hid it, while every request for the model asked for was still
 * refused 402. A model whose provider:model name is longer than any price may be (a bare id of 256 with its provider's
 * prefix) can never be priced: it is refused without a record pointing at a name cut short.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({ default_providers: { openai: 'mock' }, pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ gw } = s))

const chat = (secret: string, model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  })

test('a 225-unit model name is recorded whole, and pricing the recorded name serves the model', async () => {
  const { secret } = await gw.userWithKey({ id: 'long-name', max_budget: 5 })
  const asked = `mock:${'x'.repeat(220)}`
  const first = await chat(secret, asked)
  expect(first.status).toBe(402)
  expect(((await first.json()) as { error: { message: string } }).error.message).toContain(asked)
  const recorded = (await gw.admin('GET', '/v1/pricing/unpriced')).body.data as Array<{ model: string }>
  expect(recorded.map((r) => r.model)).toEqual([asked])

  expect((await gw.admin('POST', '/v1/pricing', { model: recorded[0]!.model, input_per_million: 1, output_per_million: 2 })).status).toBe(201)
  const served = await chat(secret, asked)
  expect(served.status).toBe(200)
  await served.arrayBuffer()
})

test('a bare id whose provider:model name is longer than a price may be is refused 402 and recorded under no cut name', async () => {
  const { secret } = await gw.userWithKey({ id: 'too-long-name', max_budget: 5 })
  const before = (await gw.admin('GET', '/v1/pricing/unpriced?include_priced=true')).body.data.length
  const res = await chat(secret, 'y'.repeat(256))
  expect(res.status).toBe(402)
  const body = (await res.json()) as { error: { code: string; message: string } }
  expect(body.error.code).toBe('pricing_required')
  expect(body.error.message).toContain('at most 256 characters')
  expect((await gw.admin('GET', '/v1/pricing/unpriced?include_priced=true')).body.data.length).toBe(before)
})
