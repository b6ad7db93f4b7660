/**
 * An answer charged its whole hold, on Postgres: the tokens the hold priced are recorded at most MAX_TOKEN_COUNT
 * each. A free model (priced 0/0) holds $0 whatever the max output, so `max_tokens: 2^53-1, n: 128` answered
 * without a usage priced 1.15e18 completion tokens; recorded as that, the daily rollup trigger's bigint sum of
 * eight such rows passed 2^63 and Postgres refused the 9th settlement: no usage row, its hold left reserved until
 * the sweeper charged it as `expired`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ latencyMs: 1 })
  gw = await startTestGateway({
    mock,
    config: {
      log_level: 'silent',
      pricing: { 'mock:gpt-mock': { input_per_million: 0, output_per_million: 0 } },
      database_url: await pg.database('whole_hold_counts_capped'),
    },
  })
}, 120_000)
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
  await pg?.destroy()
})

test('Postgres: nine whole-hold charges of a free model are all recorded, no hold left reserved', async () => {
  const { secret } = await gw.userWithKey({ id: 'pg-free-rider', max_budget: 1_000_000 })
  for (let i = 0; i < 9; i++) {
    mock.queue('no-usage')
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: Number.MAX_SAFE_INTEGER, n: 128 }),
    })
    expect(res.status).toBe(200)
    await res.text()
  }
  for (let i = 0; i < 40; i++) {
    await gw.settled()
    if (Number(gw.query(`SELECT count(*) AS n FROM reservations WHERE user_id = ?`, 'pg-free-rider')[0].n) === 0) break
    await Bun.sleep(100)
  }
  const left = Number(gw.query(`SELECT count(*) AS n FROM reservations WHERE user_id = ?`, 'pg-free-rider')[0].n)
  const recorded = Number(gw.query(`SELECT count(*) AS n FROM usage WHERE user_id = ?`, 'pg-free-rider')[0].n)
  const most = Number(gw.query(`SELECT coalesce(max(completion_tokens), 0) AS m FROM usage WHERE user_id = ?`, 'pg-free-rider')[0].m)
  expect({ left, recorded }).toEqual({ left: 0, recorded: 9 })
  expect(most).toBeLessThanOrEqual(1_000_000_000)
}, 120_000)
