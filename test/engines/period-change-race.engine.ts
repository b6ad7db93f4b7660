/**
 * A change of `budget_period` (PATCH /v1/users/:id) on Postgres puts the user in the new kind's calendar period
 * as of the handler's clock reading, and its write may reach the user's row much later (waiting for a pooled
 * connection, the network, a lock queue). A settlement asked for after that reading (its usage row dated
 * inside the new period) that commits before the write lands must count in the new period's spend, as the
 * usage rows since period_start say: else the user may spend it again. Here a statement-level trigger holds
 * the PATCH's UPDATE back 1.5 s (before it locks any row) to stand for that delay, deterministically; a store
 * that locks the row first and counts the spend under that lock has the request wait for the change instead.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway } from '../support/gateway'
import { chat, longText, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ completionText: longText, latencyMs: 5 })
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

test('Postgres: a settlement committed while a budget_period change is on its way counts in the new period (spend = its usage rows since period_start)', async () => {
  const url = await pg.database('period_change_race')
  const gw = await startTestGateway({ mock, config: { pricing: PRICING, database_url: url } })
  const sql = new Bun.SQL(url)
  try {
    const { secret } = await gw.userWithKey({ id: 'switch', max_budget: 1, budget_period: 'monthly' })
    // Only the admin PATCH's UPDATE (drizzle's `update "users" set …`) is held back; the ledger's statements are not.
    await sql.unsafe(`CREATE FUNCTION hold_patch() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF current_query() ILIKE 'update "users" set%' THEN PERFORM pg_sleep(1.5); END IF; RETURN NULL; END $$`)
    await sql.unsafe(`CREATE TRIGGER hold_patch BEFORE UPDATE ON users FOR EACH STATEMENT EXECUTE FUNCTION hold_patch()`)
    const patched = gw.admin('PATCH', '/v1/users/switch', { budget_period: 'daily' })
    // The handler has read its clock and its UPDATE is on its way.
    const sleeping = async () => Number((await sql`SELECT count(*) AS n FROM pg_stat_activity WHERE query ILIKE 'update "users" set%' AND wait_event = 'PgSleep'`)[0].n)
    for (let i = 0; i < 100 && (await sleeping()) === 0; i++) await Bun.sleep(10)
    expect(await sleeping()).toBe(1)
    // A request made after the change was asked for: settled (and committed) before the UPDATE lands.
    const res = await chat(gw.url, secret)
    expect(res.status).toBe(200)
    await res.text()
    await gw.settled()
    expect(Number((await sql`SELECT count(*) AS n FROM usage WHERE user_id = 'switch'`)[0].n)).toBe(1)
    const p = await patched
    expect(p.status).toBe(200)
    const [u] = await sql`SELECT spend, period_start FROM users WHERE id = 'switch'`
    const [inPeriod] = await sql`SELECT coalesce(sum(cost), 0) AS cost, count(*) AS n FROM usage WHERE user_id = 'switch' AND created_at >= ${u.period_start}`
    // The usage row is dated in the new period (after its start)…
    expect(Number(inPeriod.n)).toBe(1)
    // …so its cost (50 µ$) is in the new period's spend.
    expect({ spend: Number(u.spend) }).toEqual({ spend: Number(inPeriod.cost) })
  } finally {
    await sql.unsafe('DROP TRIGGER IF EXISTS hold_patch ON users').catch(() => {})
    await sql.close()
    await gw.stop()
  }
})
