/**
 * Mutation guard. A price applies to the model it names exactly (README "Model names as clients send
 * them": prices use the canonical `provider:model`; SPEC: a model with no price is refused 402 `pricing_required`
 * before any hold or provider call). A price for `mock:gpt-mock` must not price `mock:gpt-mock-pro` (a longer,
 * perhaps dearer model: a dated or suffixed id) nor `mock:GPT-MOCK`: found by a prefix or case-insensitive match,
 * the provider would be called and billed at another model's rates.
 *
 * Kills: price-sql.ts inForceId `q.model = ${model}` → `substr(${model}, 1, length(q.model)) = q.model` (prefix)
 * and → `lower(q.model) = lower(${model})` (case), both of which every other suite survived (prefix) or only
 * budget.test caught incidentally (case).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { require_pricing: true } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const chat = (secret: string, model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  })

test('the priced model itself is served (control)', async () => {
  const { secret } = await gw.userWithKey({ id: 'ku-exact-ctl', max_budget: 10 })
  const res = await chat(secret, 'mock:gpt-mock')
  expect(res.status).toBe(200)
})

for (const model of ['mock:gpt-mock-pro', 'mock:gpt-mock-2026-01-01', 'mock:GPT-MOCK', 'mock:Gpt-Mock-pro']) {
  test(`${model}: not priced by the price of mock:gpt-mock (402, provider not called, nothing held or listed)`, async () => {
    const id = `ku-exact-${model.replace(/[^a-z0-9]/gi, '')}`
    const { secret } = await gw.userWithKey({ id, max_budget: 10 })
    mock.reset()
    const res = await chat(secret, model)
    const body = (await res.json()) as { error?: { code?: string } }
    expect({ status: res.status, code: body.error?.code }).toEqual({ status: 402, code: 'pricing_required' })
    expect(mock.calls.length).toBe(0)
    // Nor does the model list or retrieve offer it.
    const one = await fetch(`${gw.url}/v1/models/${encodeURIComponent(model)}`, { headers: { authorization: `Bearer ${secret}` } })
    expect(one.status).toBe(404)
    const list = (await (await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).json()) as { data: Array<{ id: string }> }
    expect(list.data.map((m) => m.id)).not.toContain(model)
    await gw.settled()
    const user = await gw.admin('GET', `/v1/users/${id}`)
    expect(user.body.spend ?? 0).toBe(0)
  })
}
