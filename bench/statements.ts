/**
 * Times each of the ledger's statements as the write queue runs them: `batch` requests' reservations in
 * one transaction, their settlements and request-log rows in the next, on a real database file (WAL,
 * synchronous=NORMAL). Beside them, the `RETURNING` forms the ledger used before commit af2f30f, for the
 * record of why it reads and then writes: SQLite gives every `RETURNING` an ephemeral table.
 *
 *   bun bench/statements.ts [rounds=3000] [batch=64]
 */
import type { Statement } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../src/db/open'

const rounds = Number(process.argv[2] ?? 3000)
const batch = Number(process.argv[3] ?? 64)

const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'))
const db = openDatabase(join(dir, 'bench.db')).$client
const now = Date.now()
db.run('INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES (?, ?, 0, ?, ?)', ['u', 10 ** 15, now, now])
db.run("INSERT INTO api_keys (id, user_id, key_hash, key_prefix, max_budget, created_at, updated_at) VALUES ('k', 'u', 'h', 'tg-', ?, ?, ?)", [10 ** 15, now, now])

const q = (sql: string): Statement => db.prepare(sql)
const ledger = {
  userFigures: q('SELECT blocked, max_budget, spend, reserved, budget_period, period_start FROM users WHERE id = ?'),
  keyFigures: q('SELECT max_budget, spend, reserved FROM api_keys WHERE id = ?'),
  debitUser: q('UPDATE users SET reserved = reserved + ?2 WHERE id = ?1'),
  debitKey: q('UPDATE api_keys SET reserved = reserved + ?2 WHERE id = ?1'),
  insertHold: q(`INSERT INTO reservations (id, request_id, user_id, key_id, amount, model, provider, endpoint, price_id, stream, created_at, expires_at, key_debited)
                 VALUES (?, ?, 'u', 'k', 100, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 1, 0, ?, ?, 1)`),
  deleteHold: q('DELETE FROM reservations WHERE id = ?'),
  creditUser: q('UPDATE users SET reserved = reserved - ?2, spend = spend + ?3 WHERE id = ?1'),
  creditKey: q('UPDATE api_keys SET reserved = reserved - ?2, spend = spend + ?3 WHERE id = ?1'),
  insertUsage: q(`INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens,
                                     cached_tokens, cost, reserved, price_id, status, latency_ms, stream)
                  VALUES (?, ?, 'u', 'k', 'mock:gpt-mock', 'mock', '/v1/chat/completions', 10, 20, 0, 7, 100, 1, 'ok', 3, 0)`),
  insertLog: q(`INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms, client_ip, key_id, user_id)
                VALUES (?, ?, 'POST', '/v1/chat/completions', 200, 3, '127.0.0.1', 'k', 'u')`),
}
const before = {
  debitUser: q(`UPDATE users SET reserved = reserved + ?2
                 WHERE id = ?1 AND blocked = 0 AND (max_budget IS NULL OR spend + reserved + ?2 <= max_budget)
                 RETURNING max_budget - spend - reserved AS remaining`),
  debitKey: q(`UPDATE api_keys SET reserved = reserved + ?2
                WHERE id = ?1 AND (max_budget IS NULL OR spend + reserved + ?2 <= max_budget)
                RETURNING max_budget - spend - reserved AS remaining`),
  takeHold: q('DELETE FROM reservations WHERE id = ? RETURNING *'),
}

const spent = new Map<string, number>()
const timed = (name: string, times: number, f: (i: number) => void) => {
  const start = performance.now()
  for (let i = 0; i < times; i++) f(i)
  spent.set(name, (spent.get(name) ?? 0) + (performance.now() - start) / times)
}

let request = 0
for (let round = 0; round < rounds; round++) {
  const t = Date.now()
  const ids = Array.from({ length: batch }, () => Math.floor(Math.random() * 2 ** 53) + 1)
  const first = request
  db.run('BEGIN IMMEDIATE')
  timed('now: SELECT user figures + UPDATE users', batch, () => {
    ledger.userFigures.get('u')
    ledger.debitUser.run('u', 100)
  })
  timed('now: SELECT key figures + UPDATE api_keys', batch, () => {
    ledger.keyFigures.get('k')
    ledger.debitKey.run('k', 100)
  })
  timed('before: UPDATE users … RETURNING', batch, () => before.debitUser.get('u', 100))
  timed('before: UPDATE api_keys … RETURNING', batch, () => before.debitKey.get('k', 100))
  timed('INSERT reservations', batch, (i) => ledger.insertHold.run(ids[i]!, `r${request++}`, t, t + 900_000))
  timed('COMMIT of the reservations', 1, () => db.run('COMMIT'))
  db.run('BEGIN IMMEDIATE')
  // Half the holds go each way, so both deletes find rows.
  const half = batch >> 1
  timed('now: DELETE reservations', half, (i) => ledger.deleteHold.run(ids[i]!))
  timed('before: DELETE reservations … RETURNING *', batch - half, (i) => before.takeHold.get(ids[half + i]!))
  timed('UPDATE users (credit)', batch, () => ledger.creditUser.run('u', 200, 7))
  timed('UPDATE api_keys (credit)', batch, () => ledger.creditKey.run('k', 200, 7))
  timed('INSERT usage', batch, (i) => ledger.insertUsage.run(`r${first + i}`, t))
  timed('INSERT api_request_log', batch, (i) => ledger.insertLog.run(t, `r${first + i}`))
  timed('COMMIT of the settlements and log rows', 1, () => db.run('COMMIT'))
}
db.close()
rmSync(dir, { recursive: true, force: true })

console.log(`ledger statements, µs each (a COMMIT: µs per request in it); ${rounds} rounds of ${batch} requests, bun ${Bun.version}`)
for (const [name, ms] of spent) {
  const perCall = (ms / rounds) * 1000
  const shown = name.startsWith('COMMIT') ? perCall / batch : perCall
  console.log(`${name.padEnd(44)} ${shown.toFixed(2).padStart(6)}`)
}
