/**
 * Reserve + settle pairs per second in one process, on a real database file (WAL, synchronous=NORMAL).
 * As on the request path, reservations and settlements go through the write queue, which commits the
 * writes of one turn of the event loop together: `batch` requests are reserved in one commit and settled
 * in the next (1 = every reservation and every settlement commits alone).
 *
 *   npm run bench:ledger            (or: bun bench/ledger.ts [pairs] [batches])
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ledger } from '../src/budget/ledger'
import { openDatabase } from '../src/db/open'
import { apiKeys, users } from '../src/db/schema'
import { WriteQueue } from '../src/db/write-queue'
import { SqliteLedgerStore } from '../src/store/sqlite/ledger-store'

const pairs = Number(process.argv[2] ?? 50_000)
const batches = (process.argv[3] ?? '1,8,64').split(',').map(Number)

async function run(batch: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'))
  const db = openDatabase(join(dir, 'bench.db'))
  const writes = new WriteQueue(db.$client)
  const ledger = new Ledger(new SqliteLedgerStore(db.$client, writes), 900_000)
  const now = Date.now()
  db.insert(users).values({ id: 'u', maxBudget: 10 ** 15, periodStart: 0, createdAt: now, updatedAt: now }).run()
  db.insert(apiKeys).values({ id: 'k', userId: 'u', keyHash: 'h', keyPrefix: 'tg-', maxBudget: 10 ** 15, createdAt: now, updatedAt: now }).run()
  const outcome = { cost: 7, promptTokens: 10, completionTokens: 3, cachedTokens: 0, status: 'ok' as const, latencyMs: 1 }

  const started = performance.now()
  for (let i = 0; i < pairs; i += batch) {
    const holds = []
    for (let j = 0; j < batch && i + j < pairs; j++)
      holds.push(ledger.reserve({ requestId: `r${i + j}`, userId: 'u', keyId: 'k', keyHash: 'h', amount: 100, model: 'm:m', provider: 'm', endpoint: '/v1/chat/completions', priceId: 1, stream: false }))
    ledger.flush()
    for (const h of await Promise.all(holds)) h.settle(outcome)
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
console.log('requests per commit | pairs/s')
for (const batch of batches) console.log(`${String(batch).padStart(18)} | ${Math.round(await run(batch)).toLocaleString('en-US')}`)
