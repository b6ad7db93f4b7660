/**
 * What a WAL checkpoint costs the thread that runs it: the gateway's database settings, rows written until
 * the WAL holds SQLite's automatic threshold (1,000 pages), then one checkpoint timed on that connection, as
 * SQLite's automatic checkpoint would run it inside the commit that crosses the threshold. With the
 * checkpointer (src/db/checkpointer.ts) this runs on its worker instead of the request thread.
 *
 *   bun bench/checkpoint-cost.ts [rounds] [directory]
 */
import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median } from './wrk'

const rounds = Number(process.argv[2] ?? 20)
const dir = mkdtempSync(join(process.argv[3] ?? tmpdir(), 'tollgate-checkpoint-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
const db = new Database(join(dir, 'c.db'), { strict: true })
db.exec('PRAGMA journal_mode = WAL')
db.exec('PRAGMA synchronous = NORMAL')
db.exec('PRAGMA wal_autocheckpoint = 0')
db.exec('CREATE TABLE usage (id INTEGER PRIMARY KEY, user_id TEXT, model TEXT, created_at INTEGER, cost REAL, note TEXT)')
db.exec('CREATE INDEX usage_user ON usage (user_id, created_at)')
db.exec('CREATE INDEX usage_time ON usage (created_at)')
const insert = db.prepare('INSERT INTO usage (user_id, model, created_at, cost, note) VALUES (?, ?, ?, ?, ?)')
const walPages = () => db.query<{ log: number }, []>('PRAGMA wal_checkpoint(PASSIVE)')

const times: number[] = []
let n = 0
for (let round = 0; round < rounds; round++) {
  // Commits of 64 rows, as the write queue makes them, until about 1,000 pages of WAL.
  for (let commits = 0; commits < 100; commits++)
    db.transaction(() => {
      for (let i = 0; i < 64; i++, n++) insert.run(`user-${n % 1000}`, 'mock:gpt-mock', Date.now() + n, 0.0001, 'x'.repeat(120))
    })()
  const start = Bun.nanoseconds()
  const { log } = walPages().get()!
  times.push((Bun.nanoseconds() - start) / 1e6)
  if (round === 0) console.log(`WAL pages per round: ~${log}`)
}
times.sort((a, b) => a - b)
console.log(`checkpoint on the writing thread, ${rounds} rounds: median ${median(times).toFixed(2)} ms, max ${times.at(-1)!.toFixed(2)} ms`)
