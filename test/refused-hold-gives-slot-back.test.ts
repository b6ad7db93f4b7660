import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway } from './support/gateway'
import { mockChat } from './support/mock-chat'

/**
 * The upstream slot is taken before the hold (admission); a hold refused (402 over budget, 401 a key revoked under
 * it) must give it back, or every refusal leaks a slot and, once they are gone, every caller gets 503 upstream_busy.
 * (Mutation guard: dropping giveSlotBack() on the reserve's rejection path in src/metering/admission.ts.)
 */
let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(() => mock.stop())

const chat = (url: string, key: string) => mockChat(url, key, { max_tokens: 20 })

test('holds refused over budget give their upstream slot back: a funded caller is still served', async () => {
  mock.reset()
  const gw = await startTestGateway({ mock, config: { max_upstream_concurrency: 2, shutdown_grace_ms: 500 } })
  try {
    const broke = await gw.userWithKey({ id: 'broke', max_budget: 0 })
    const funded = await gw.userWithKey({ id: 'funded', max_budget: 10 })
    for (let i = 0; i < 5; i++) {
      const refused = await chat(gw.url, broke.secret)
      expect(refused.status).toBe(402)
      await refused.text()
    }
    const served = await chat(gw.url, funded.secret)
    expect(served.status).toBe(200)
    await served.text()
    expect(mock.calls.length).toBe(1)
  } finally {
    await gw.stop()
  }
})
