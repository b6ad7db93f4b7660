import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway } from './support/gateway'
import { mockChat } from './support/mock-chat'

/**
 * Two requests hold a daily budget across midnight; the first to end settles after the period has ended, so its
 * settlement rolls the period (rollAndCreditUser). The other request's hold is still open: the roll must take only
 * the settled hold out of `reserved`, or the one in flight stops counting and the budget can be spent past its max.
 * (Mutation guard: the rolling settlement writing `reserved = 0` in place of `reserved - amount`.)
 */
let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(() => mock.stop())

const chat = (url: string, key: string, signal?: AbortSignal) => mockChat(url, key, { stream: true, max_tokens: 100_000 }, signal)

test('a settlement that rolls an ended period leaves the holds still in flight in reserved', async () => {
  mock.reset()
  mock.behavior = 'hang'
  const gw = await startTestGateway({ mock })
  const first = new AbortController()
  const second = new AbortController()
  try {
    const { secret } = await gw.userWithKey({ id: 'night', max_budget: 10, budget_period: 'daily' })
    const a = chat(gw.url, secret, first.signal).catch(() => null)
    for (let i = 0; i < 500 && mock.calls.length < 1; i++) await Bun.sleep(10)
    const b = chat(gw.url, secret, second.signal).catch(() => null)
    for (let i = 0; i < 500 && mock.calls.length < 2; i++) await Bun.sleep(10)
    expect(mock.calls.length).toBe(2)
    const holds = gw.query<{ amount: number }>('SELECT amount FROM reservations ORDER BY created_at')
    expect(holds.length).toBe(2)
    const both = holds[0]!.amount + holds[1]!.amount
    expect(gw.query('SELECT reserved FROM users WHERE id = ?', 'night')[0].reserved).toBe(both)

    // Midnight passes while both are in flight: the stored period is yesterday's.
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate())
    gw.exec('UPDATE users SET period_start = ? WHERE id = ?', today - 86_400_000, 'night')

    first.abort()
    await a
    for (let i = 0; i < 500 && gw.query('SELECT count(*) AS n FROM reservations')[0].n > 1; i++) await Bun.sleep(10)
    await gw.settled()
    const left = gw.query<{ amount: number }>('SELECT amount FROM reservations')
    expect(left.length).toBe(1)
    const row = gw.query('SELECT reserved, period_start FROM users WHERE id = ?', 'night')[0]
    expect(row.period_start).toBe(today)
    // The hold still in flight still counts against the budget.
    expect(row.reserved).toBe(left[0]!.amount)

    second.abort()
    await b
    for (let i = 0; i < 500 && gw.query('SELECT count(*) AS n FROM reservations')[0].n > 0; i++) await Bun.sleep(10)
    await gw.settled()
    expect(gw.query('SELECT reserved FROM users WHERE id = ?', 'night')[0].reserved).toBe(0)
  } finally {
    first.abort()
    second.abort()
    await gw.stop()
  }
})
