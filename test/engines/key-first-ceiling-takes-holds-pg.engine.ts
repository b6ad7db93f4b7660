/**
 * Postgres twin of test/budget.test.ts "a key given its first ceiling while requests are in flight". README: "A key
 * given its first ceiling while it has requests in flight takes their holds over in the same transaction, so they
 * count against the new ceiling at once". On Postgres nothing checked it: a store that set the ceiling without
 * taking the open holds over let the key's next request past its new ceiling (money: the key's own budget exceeded).
 * (Mutation guard: the `WITH taken AS (UPDATE reservations SET key_debited = true …) UPDATE api_keys SET reserved = …`
 * in PostgresStore.updateKey, src/store/postgres/store.ts:247-249, dropped or skipped.)
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway } from '../support/gateway'
import { chat, HOLD_USD, longText, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ completionText: longText, latencyMs: 0, chunks: 10, chunkDelayMs: 60 })
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

test('Postgres: a key given its first ceiling while a request is in flight counts that hold against it at once, and is credited back when it settles', async () => {
  const url = await pg.database('guard_first_ceiling')
  const gw = await startTestGateway({ mock, config: { pricing: PRICING, database_url: url } })
  try {
    const { secret, keyId } = await gw.userWithKey({ id: 'ceiling-later' })
    const first = await chat(gw.url, secret, { stream: true })
    expect(first.status).toBe(200)
    const reader = first.body!.getReader()
    await reader.read() // the stream is under way: its hold is open

    const patched = await gw.admin('PATCH', `/v1/keys/${keyId}`, { max_budget: 1.5 * HOLD_USD })
    expect(patched.status).toBe(200)
    expect(patched.body.reserved).toBeCloseTo(HOLD_USD, 9)
    // 1 hold in flight + 1 more would pass 1.5 holds: refused.
    const second = await chat(gw.url, secret)
    expect(second.status).toBe(402)
    await second.text()

    while (!(await reader.read()).done);
    await gw.settled()
    const key = (await gw.admin('GET', `/v1/keys/${keyId}`)).body
    expect(key.reserved).toBe(0)
    expect(key.spend).toBeCloseTo(HOLD_USD, 9)
  } finally {
    await gw.stop()
  }
})
