import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway } from './support/gateway'
import { mockChat } from './support/mock-chat'

/**
 * A key's ceiling is judged by the key's own spend, which never rolls: the user's budget period rolling at midnight
 * (its spend back to 0) hands the key nothing. A key that spent its ceiling yesterday is still refused today.
 * (Mutation guard: decideHold checking the key's ceiling with the user's period spend in place of the key's.)
 */
let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(() => mock.stop())

const chat = (url: string, key: string) => mockChat(url, key, { max_tokens: 20 })

test("a key that spent its ceiling is refused after its user's daily period rolls", async () => {
  mock.reset()
  const gw = await startTestGateway({ mock })
  try {
    const { secret, keyId } = await gw.userWithKey({ id: 'daily-user', max_budget: 10, budget_period: 'daily' }, { max_budget: 1 })
    // Yesterday the key spent its whole $1 ceiling (its user's daily spend with it).
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate())
    gw.exec('UPDATE users SET period_start = ?, spend = ? WHERE id = ?', today - 86_400_000, 1_000_000, 'daily-user')
    gw.exec('UPDATE api_keys SET spend = ? WHERE id = ?', 1_000_000, keyId)

    const res = await chat(gw.url, secret)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(res.status).toBe(402)
    expect(body.error.code).toBe('budget_exceeded')
    expect(body.error.message).toContain('for this key')
    expect(mock.calls.length).toBe(0)
  } finally {
    await gw.stop()
  }
})
