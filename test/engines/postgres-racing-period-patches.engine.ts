/**
 * Two PATCH /v1/users/:id of `budget_period` racing on Postgres: A sets `daily`, B (sent while A holds the user's
 * row) sets `monthly` back. Whether a PATCH changes the kind of period is judged against the row under the update's
 * lock: B, which read `monthly` before A committed, must not take its change for "no change" once it gets the lock,
 * leaving the user daily (the whole budget again each day) and answering 200 with `daily`. Here a statement-level
 * trigger holds the admin's UPDATE back 1 s, after the row is locked, so that B is sent inside A's transaction,
 * deterministically.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test('Postgres: of two racing PATCHes of budget_period the later one is not lost, and each answers the period it set', async () => {
  const url = await pg.database('racing_period_patches')
  const gw = await startTestGateway({ config: { database_url: url } })
  const sql = new Bun.SQL(url)
  try {
    expect((await gw.admin('POST', '/v1/users', { id: 'racer', max_budget: 10, budget_period: 'monthly' })).status).toBe(201)
    // Only the admin PATCH's UPDATE (drizzle's `update "users" set …`) is held back.
    await sql.unsafe(`CREATE FUNCTION hold_patch() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF current_query() ILIKE 'update "users" set%' THEN PERFORM pg_sleep(1); END IF; RETURN NULL; END $$`)
    await sql.unsafe(`CREATE TRIGGER hold_patch BEFORE UPDATE ON users FOR EACH STATEMENT EXECUTE FUNCTION hold_patch()`)
    const toDaily = gw.admin('PATCH', '/v1/users/racer', { budget_period: 'daily' })
    const sleeping = async () => Number((await sql`SELECT count(*) AS n FROM pg_stat_activity WHERE query ILIKE 'update "users" set%' AND wait_event = 'PgSleep'`)[0].n)
    for (let i = 0; i < 200 && (await sleeping()) === 0; i++) await Bun.sleep(10)
    expect(await sleeping()).toBe(1)
    // A holds the row's lock and its UPDATE is on its way: B, sent now, sets the period back.
    const toMonthly = await gw.admin('PATCH', '/v1/users/racer', { budget_period: 'monthly' })
    const a = await toDaily
    const [row] = await sql`SELECT budget_period FROM users WHERE id = 'racer'`
    expect({
      a: [a.status, a.body.budget_period],
      b: [toMonthly.status, toMonthly.body.budget_period],
      stored: row.budget_period,
    }).toEqual({ a: [200, 'daily'], b: [200, 'monthly'], stored: 'monthly' })
  } finally {
    await sql.unsafe('DROP TRIGGER IF EXISTS hold_patch ON users').catch(() => {})
    await sql.close()
    await gw.stop()
  }
}, 120_000)
