/**
 * Refusal counts on Postgres count each refusal once, whatever a batch holds. A batch's per-code counts and its
 * unpriced models are one transaction: when Postgres refuses it for its data, BatchWriter sends it again a row
 * at a time, and nothing of the refused try may have stayed (the counts would be added twice). A model name
 * with a lone UTF-16 surrogate (which a JSON body may carry, and which JSON text carries to Postgres as an escape
 * its parser refuses) is made storable before it is written: recorded with U+FFFD in its place.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { PostgresStore } from '../../src/store/postgres/store'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { database_url: await pg.database('refusal_counts_surrogate') } })
}, 60_000)
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
  await pg?.destroy()
})

describe('Postgres refusal counts: each refusal once', () => {
  test('5 requests for a model name with a lone surrogate, refused with 402 pricing_required, count 5 (not 10) and record the model with U+FFFD', async () => {
    const { secret } = await gw.userWithKey({ id: 'surrogate', max_budget: 10 })
    const send = () =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        // A lone surrogate, as any JSON body may carry it.
        body: '{"model":"mock:gpt-\\ud800","messages":[{"role":"user","content":"hi"}],"max_tokens":10}',
      })
    const statuses = await Promise.all(Array.from({ length: 5 }, send).map(async (r) => (await r).status))
    expect(statuses).toEqual([402, 402, 402, 402, 402])
    await gw.settled()
    await Bun.sleep(200)
    const rows = gw.query<{ code: string; count: string }>(`SELECT code, count FROM refusal_counts WHERE code = 'pricing_required'`)
    const counted = rows.reduce((n, r) => n + Number(r.count), 0)
    const api = await gw.admin('GET', '/v1/audit/refusals?days=1')
    expect({ counted, api: api.body.codes.pricing_required }).toEqual({ counted: 5, api: 5 })
    expect(gw.query(`SELECT model, requests::int AS requests FROM unpriced_models`)).toEqual([{ model: 'mock:gpt-\ufffd', requests: 5 }])
  })

  test('a batch refused for a row\'s data (a time out of bigint range) adds its counts once when its rows go one at a time', async () => {
    const errors: unknown[] = []
    const store = await PostgresStore.open(await pg.database('refusal_counts_refused_batch'), (e) => errors.push(e))
    try {
      const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000
      store.refusals.count(hour, 'model_not_allowed')
      store.refusals.count(hour, 'model_not_allowed')
      store.refusals.unpriced('mock:odd', 1e300, 500)
      await store.refusals.writer.flush()
      const [row] = await store.sql`SELECT count::int AS n FROM refusal_counts WHERE code = 'model_not_allowed'`
      expect({ counted: row?.n, dropped: errors.some((e) => String(e).includes('dropped')) }).toEqual({ counted: 2, dropped: true })
    } finally {
      await store.close()
    }
  })
})
