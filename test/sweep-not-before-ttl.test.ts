/**
 * Mutation guard. A hold is swept once the sweep's `now` reaches its reservation's `now` plus the
 * TTL, and never before (LedgerStore.sweepBatch; README: holds expire after reservation_ttl_sec). The suites
 * sweep only well past the expiry (a TTL or more after the hold, or PAST_EXPIRY beyond it), so a refactor that
 * writes the expiry a few seconds short (`now + ttlMs - margin`) passes them while it charges another process's
 * live requests their whole hold: their real settlements then find nothing to settle.
 */
import { afterEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Ledger } from '../src/budget/ledger'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'
import { holdFor } from './support/ledger-contract'

const TTL = 60_000
let cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

test('another process\'s hold is left alone until exactly its TTL has passed, then charged in full once', async () => {
  const dir = tempDir()
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
  const store = SqliteStore.open(join(dir, 'ttl.db'), () => {})
  cleanup.push(() => store.close())
  const now = Date.now()
  await store.db.insert(store.tables.users).values({ id: 'u', maxBudget: null, budgetPeriod: null, periodStart: now, createdAt: now, updatedAt: now })
  // The hold's owner: another process (its own Ledger); the sweeper below has no running copy of it.
  await new Ledger(store.ledger, TTL).reserve(holdFor('u', 700), now)
  const sweeper = new Ledger(store.ledger, TTL)
  const user = () => store.db.$client.query('SELECT spend, reserved FROM users WHERE id = ?').get('u')

  const early: number[] = []
  for (const before of [30_000, 5_000, 1_000, 1]) early.push(await sweeper.sweep(now + TTL - before))
  expect({ early, user: user() }).toEqual({ early: [0, 0, 0, 0], user: { spend: 0, reserved: 700 } })

  expect(await sweeper.sweep(now + TTL)).toBe(1)
  expect(await sweeper.sweep(now + TTL)).toBe(0)
  expect(user()).toEqual({ spend: 700, reserved: 0 })
})
