/**
 * Mutation guard. The gateway's stop (src/server.ts stopGateway) ends with store.close(), and nothing
 * before it flushes the write queue: WriteQueue.close() "writes what is queued in the lingering lane" is what
 * writes the settlements of the last requests (lingering up to 5 ms) and their request-log rows. A close that drops
 * them loses money the other way round: each such hold stays open and the next start's sweeper charges it in full
 * as `expired`, not at the provider's price, and the usage and log rows of those requests are lost.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Ledger, type HoldRequest } from '../src/budget/ledger'
import { periodStart } from '../src/budget/period'
import { openDatabase } from '../src/db/open'
import { users } from '../src/db/schema'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'

let dir: string
let path: string
beforeEach(() => {
  dir = tempDir()
  path = join(dir, 'gateway.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const hold = (amount: number): HoldRequest => ({
  requestId: crypto.randomUUID(), userId: 'u', keyId: null, keyHash: null, amount, model: 'mock:m', provider: 'mock', endpoint: '/v1/chat/completions', priceId: null, stream: false,
})

test("the store's close writes the settlements and log rows still lingering: no hold is left for the sweeper to charge in full", async () => {
  const errors: unknown[] = []
  const store = new SqliteStore(openDatabase(path), (e) => errors.push(e))
  const now = Date.now()
  store.db.insert(users).values({ id: 'u', maxBudget: 1_000, budgetPeriod: null, periodStart: periodStart(null, now), createdAt: now, updatedAt: now }).run()
  const ledger = new Ledger(store.ledger, 60_000)
  const holds = await Promise.all([ledger.reserve(hold(300)), ledger.reserve(hold(300))])
  // The last requests end just before the stop: their settlements and log rows linger in the queue.
  for (const h of holds) h.settle({ cost: 7, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok', latencyMs: 1 })
  store.appendRequestLog({ createdAt: now, requestId: 'last', method: 'POST', route: '/v1/chat/completions', status: 200, latencyMs: 1, clientIp: '127.0.0.1', keyId: null, userId: 'u' })
  expect(store.writes.queued).toBe(3)
  await store.close()
  expect(errors).toEqual([])

  const after = openDatabase(path)
  try {
    const c = after.$client
    expect({
      open: (c.query('SELECT count(*) AS n FROM reservations').get() as { n: number }).n,
      user: c.query("SELECT spend, reserved FROM users WHERE id = 'u'").get(),
      usage: c.query('SELECT cost, status FROM usage').all(),
      logged: (c.query('SELECT count(*) AS n FROM api_request_log').get() as { n: number }).n,
    }).toEqual({ open: 0, user: { spend: 14, reserved: 0 }, usage: [{ cost: 7, status: 'ok' }, { cost: 7, status: 'ok' }], logged: 1 })
  } finally {
    after.$client.close()
  }
})
