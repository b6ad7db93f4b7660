import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * README: "`POST /v1/messages/count_tokens` is free (no price needed, no hold, no usage row) but authenticated,
 * rate-limited and limited to the models the key may call"; a free call needs a rate-limit slot like any other. A
 * key's `rpm_limit` counts its free calls (token counts, stored-response reads) as it counts billed ones: they
 * cost the operator a provider call each, and a key could otherwise hammer the provider for nothing. No existing
 * test sends a free call past a key's `rpm_limit`, so a limiter that let them through would pass the suite.
 */
let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } } } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

const free = [
  { name: 'count_tokens (Anthropic provider)', path: '/v1/messages/count_tokens', body: { model: 'mockant:claude-mock', messages: [{ role: 'user', content: 'hi' }] } },
  { name: 'count_tokens (counted by the gateway)', path: '/v1/messages/count_tokens', body: { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] } },
  { name: 'responses input_tokens', path: '/v1/responses/input_tokens', body: { model: 'mock:gpt-mock', input: 'hi' } },
]

for (const [i, call] of free.entries())
  test(`${call.name}: the third call in a minute on a key with rpm_limit 2 is 429, the provider not asked`, async () => {
    const { secret } = await gw.userWithKey({ id: `rpm-${i}` }, { rpm_limit: 2 })
    const send = () =>
      fetch(`${gw.url}${call.path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(call.body) })
    const statuses: number[] = []
    for (let n = 0; n < 3; n++) {
      const res = await send()
      await res.text()
      statuses.push(res.status)
    }
    expect(statuses).toEqual([200, 200, 429])
    expect(mock.calls.length).toBeLessThanOrEqual(2)
  })
