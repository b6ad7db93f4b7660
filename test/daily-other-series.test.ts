/**
 * Mutation guard: `GET /v1/usage/daily` charts one series per model or user, "the 8 dearest; the
 * rest as `other`" (its OpenAPI summary, the console's chart). Every day's series must add up to the day's spend: the
 * names past the 8th are summed into `other`, not dropped. console-overview.test.ts has two names only, so a chart that
 * dropped the rest (spend missing from the bill-payer's chart) went unnoticed.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test('ten users spending today: the eight dearest have series, the other two are summed as `other`', async () => {
  const at = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 1 // today, just after midnight (before now)
  for (let i = 1; i <= 10; i++)
    gw.exec(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
       VALUES (?, ?, ?, NULL, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 1, 1, 0, ?, 0, 'ok')`,
      `kv-daily-${i}`, at, `kv-u${String(i).padStart(2, '0')}`, i * 1_000_000,
    )
  const r = await gw.admin('GET', '/v1/usage/daily?by=user&days=1')
  expect(r.status).toBe(200)
  const series = (r.body.series as Array<{ name: string; cost: number[] }>).map((s) => [s.name, s.cost.at(-1)])
  expect(series).toEqual([
    ['kv-u10', 10], ['kv-u09', 9], ['kv-u08', 8], ['kv-u07', 7], ['kv-u06', 6], ['kv-u05', 5], ['kv-u04', 4], ['kv-u03', 3],
    ['other', 3],
  ])
})
