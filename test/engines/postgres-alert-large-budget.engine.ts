/**
 * On Postgres, one user with a large budget does not stop the alert watch for everyone. The watch's
 * pre-filter (usersOver / rolledUsersOver / keysOver, src/store/postgres/alert-rows.ts) compares spend with
 * `max_budget * <lowest threshold in basis points>`; the admin API accepts budgets up to $1e9 (1e15 micro-USD),
 * and with `thresholds: [100]` that product is 1e19 > 2^63-1, which bigint arithmetic refuses ("bigint out of
 * range"), so the comparison is made in numeric. (SQLite turns an overflowing product into a REAL.)
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { AlertOutbox } from '../../src/alerts/outbox'
import { AlertWatch } from '../../src/alerts/watch'
import { configSchema } from '../../src/config/schema'
import type { Store } from '../../src/store/store'
import { MASTER_KEY, tempDir } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test('Postgres: a user with a $1e9 budget (the API maximum) does not stop threshold alerts for the other users', async () => {
  const dir = tempDir()
  const { PostgresStore } = await import('../../src/store/postgres/store')
  const store: Store = await PostgresStore.open(await pg.database('alert_overflow'))
  try {
    const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [100] } }).alerts
    const now = Date.now()
    const { users } = store.tables
    // The "practically unlimited" user, as POST /v1/users {max_budget: 1000000000} stores it, and a small team that spent it all.
    await store.db.insert(users).values({ id: 'whale', maxBudget: 1e15, budgetPeriod: null, periodStart: 0, createdAt: now, updatedAt: now })
    await store.db.insert(users).values({ id: 'small-team', maxBudget: 1_000_000, spend: 1_000_000, budgetPeriod: null, periodStart: 0, createdAt: now, updatedAt: now })
    const outbox = new AlertOutbox(store.alerts, [])
    const written: string[] = []
    const watch = new AlertWatch(store.alerts, settings)
    let failure: Error | null = null
    await watch
      .check(async (a) => {
        if (await outbox.raise(a, now)) written.push(a.dedupeKey)
      }, now)
      .catch((error: Error) => (failure = error))
    expect(failure).toBeNull()
    expect(written).toEqual(['budget:user:small-team:0:1000000:100'])
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
