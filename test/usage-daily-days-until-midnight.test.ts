/**
 * /v1/usage/daily?days=N&until=T charts the N UTC days up to `until`, which is excluded: at exactly a UTC midnight
 * (the console's "Until (UTC)" at 00:00, the natural end of a range) the N days are the N before it, so the chart
 * has N points and sums every row in them (it once began a day late: days=7 dropped the first day, days=1 was empty).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } } } })
  for (const [at, cost] of [['2026-03-01T12:00:00Z', 1_000_000], ['2026-03-07T12:00:00Z', 2_000_000]] as const)
    gw.exec(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
       VALUES (?, ?, 'days-user', NULL, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 1, 1, 0, ?, 0, 'ok')`,
      crypto.randomUUID(), Date.parse(at), cost,
    )
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('days=7 with until at a UTC midnight charts the 7 days before it, rows of the first included', async () => {
  const r = await gw.admin('GET', '/v1/usage/daily?user_id=days-user&days=7&until=2026-03-08T00:00:00Z')
  expect(r.status).toBe(200)
  const total = r.body.series.reduce((n: number, s: any) => n + s.cost.reduce((a: number, b: number) => a + b, 0), 0)
  expect({ days: r.body.days, total }).toEqual({
    days: ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06', '2026-03-07'],
    total: 3,
  })
})

test('days=1 with until at a UTC midnight is the day before it, not an empty chart', async () => {
  const r = await gw.admin('GET', '/v1/usage/daily?user_id=days-user&days=1&until=2026-03-08T00:00:00Z')
  expect(r.status).toBe(200)
  expect(r.body.days).toEqual(['2026-03-07'])
  expect(r.body.series.map((s: any) => s.cost)).toEqual([[2]])
})
