/**
 * Reserve + settle pairs per second in one process, on a real database file (WAL, synchronous=NORMAL).
 * Every reservation is its own IMMEDIATE transaction, as on the request path; settlements go through
 * the write queue, which groups those finished in the same turn of the event loop into one commit.
 *
 *   npm run bench:ledger            (or: bun bench/ledger.ts [pairs] [batch])
 *
 * `batch` is how many requests finish per event-loop turn (1 = every settlement commits alone).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ledger } from '../src/budget/ledger'
import { openDatabase } from '../src/db/open'
import { apiKeys, users } from '../src/db/schema'
import { WriteQueue } from '../src/db/write-queue'

const pairs = Number(process.argv[2] ?? 50_000)
const batches = (process.argv[3] ?? '1,8,64').split(',').map(Number)

function run(batch: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'))
  const db = openDatabase(join(dir, 'bench.db'))
  const writes = new WriteQueue(db.$client)
  const ledger = new Ledger(db.$client, writes, 900_000)
  const now = Date.now()
  db.insert(users).values({ id: 'u', maxBudget: 10 ** 15, periodStart: 0, createdAt: now, updatedAt: now }).run()
  db.insert(apiKeys).values({ id: 'k', userId: 'u', keyHash: 'h', keyPrefix: 'tg-', maxBudget: 10 ** 15, createdAt: now, updatedAt: now }).run()
  const outcome = { cost: 7, promptTokens: 10, completionTokens: 3, cachedTokens: 0, status: 'ok' as const, latencyMs: 1 }

  const started = performance.now()
  for (let i = 0; i < pairs; i += batch) {
    const holds = []
    for (let j = 0; j < batch && i + j < pairs; j++)
      holds.push(ledger.reserve({ requestId: `r${i + j}`, userId: 'u', keyId: 'k', amount: 100, model: 'm:m', provider: 'm', endpoint: '/v1/chat/completions', priceId: 1, stream: false }))
    for (const h of holds) h.settle(outcome)
    ledger.flush()
  }
  const seconds = (performance.now() - started) / 1000
  const check = db.$client.query('SELECT spend, reserved FROM users').get() as { spend: number; reserved: number }
  if (check.reserved !== 0 || check.spend !== pairs * 7) throw new Error(`ledger inconsistent: ${JSON.stringify(check)}`)
  db.$client.close()
  rmSync(dir, { recursive: true, force: true })
  return pairs / seconds
}

console.log(`reserve + settle pairs per second, ${pairs} pairs, one process, WAL file on ${tmpdir()}`)
console.log('settled per commit | pairs/s')
for (const batch of batches) console.log(`${String(batch).padStart(18)} | ${Math.round(run(batch)).toLocaleString('en-US')}`)
