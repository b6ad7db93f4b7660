/**
 * How long each maintenance job holds the thread that answers requests: the gateway's services on a
 * database file, a backlog made for each job, and a timer that ticks every millisecond meanwhile; the
 * longest gap between ticks is the longest any request arriving then would have waited.
 *
 *   bun bench/maintenance-block.ts [log rows to prune] [expired holds] [directory]
 *
 * Jobs: the request log's prune of rows past retention (batches, then the WAL's truncation), the stored response
 * ids' prune (random ids), the sweeper
 * on a backlog of expired holds, and commits while the WAL checkpointer works.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServices } from '../src/app'
import { startSweeper } from '../src/budget/sweeper'
import { checkpointOffThread } from '../src/db/checkpointer'
import { configSchema } from '../src/config/schema'

const logRows = Number(process.argv[2] ?? 200_000)
const holds = Number(process.argv[3] ?? 10_000)
/** The keys the request-log rows are spread over: each key's index entries for a prune's rows are then in as many places. */
const KEYS = 2_000
const dir = mkdtempSync(join(process.argv[4] ?? tmpdir(), 'tollgate-maintenance-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
const DAY = 86_400_000

const services = await createServices(
  configSchema.parse({ master_key: `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`, db: join(dir, 'm.db'), audit_retention_days: 30 }),
)
const db = services.store.db.$client
// As the server runs: checkpoints on their worker, none on this thread.
const checkpoints = checkpointOffThread(db, join(dir, 'm.db'))

/** This thread's time waiting for a CPU so far, in ms (Linux schedstat: on-CPU ns, runqueue ns, slices). */
const waitedMs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) / 1e6

/**
 * Runs `job` while a 1 ms timer ticks; returns the job's duration and the longest gap between ticks: as
 * measured, and without the time this thread waited for a CPU that other processes had (on a shared
 * machine that wait is most of the measured gaps; what is left is the job's own hold on the thread).
 */
async function stalls(job: () => Promise<unknown>) {
  let last = performance.now()
  let lastWait = waitedMs()
  let worst = 0
  let worstOwn = 0
  let over5 = 0
  let over10 = 0
  const timer = setInterval(() => {
    const now = performance.now()
    const wait = waitedMs()
    const own = now - last - (wait - lastWait)
    worst = Math.max(worst, now - last)
    worstOwn = Math.max(worstOwn, own)
    if (own > 5) over5++
    if (own > 10) over10++
    last = now
    lastWait = wait
  }, 1)
  await Bun.sleep(20)
  worst = worstOwn = over5 = over10 = 0
  last = performance.now()
  lastWait = waitedMs()
  const start = performance.now()
  await job()
  const took = performance.now() - start
  await Bun.sleep(5)
  clearInterval(timer)
  return `${took.toFixed(0)} ms; longest gap ${worst.toFixed(1)} ms, without waits for a CPU ${worstOwn.toFixed(1)} ms (${over5} over 5 ms, ${over10} over 10 ms)`
}

console.log(`nothing running, 1 s: ${await stalls(() => Bun.sleep(1_000))}`)

const now = Date.now()
db.query(
  `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
   INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms, key_id)
   SELECT ?2 - i, 'old-' || i, 'POST', '/v1/chat/completions', 200, 1, 'key-' || (abs(random()) % ?3) FROM n`,
).run(logRows, now - 31 * DAY, KEYS)
db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
await Bun.sleep(1_100)
console.log(`prune of ${logRows} request-log rows of ${KEYS} keys: ${await stalls(() => services.requestLog.pruneOld(now))}`)

// Stored responses past their retention, each with a random id (an index entry at a random place) of one of 1,000 users.
db.query(
  `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
   INSERT INTO users (id, period_start, created_at, updated_at) SELECT 'user-' || i, 0, ?1, ?1 FROM n`,
).run(now)
db.query(
  `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
   INSERT INTO stored_responses (id, kind, user_id, provider, model, created_at)
   SELECT 'resp_' || lower(hex(randomblob(16))), 'response', 'user-' || (1 + abs(random()) % 1000), 'mock', 'gpt-mock', ?2 + i FROM n`,
).run(logRows, now - 90 * DAY)
db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
await Bun.sleep(1_100)
console.log(`prune of ${logRows} stored response ids: ${await stalls(() => services.store.pruneStoredResponses(now - 60 * DAY))}`)

db.query("INSERT INTO users (id, period_start, created_at, updated_at) VALUES ('u', 0, ?1, ?1)").run(now)
db.query(
  `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
   INSERT INTO reservations (id, request_id, user_id, amount, model, provider, endpoint, created_at, expires_at, key_debited)
   SELECT i, 'r-' || i, 'u', 1, 'mock:gpt-mock', 'mock', 'chat', ?2, ?2, 0 FROM n`,
).run(holds, now - DAY)
db.query('UPDATE users SET reserved = ?1 WHERE id = ?2').run(holds, 'u')
db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
console.log(
  `sweep of ${holds} expired holds: ${await stalls(
    () =>
      new Promise<void>((resolve) => {
        const sweeper = startSweeper(services.ledger, 60_000, () => {
          sweeper.stop()
          resolve()
        })
      }),
  )}`,
)

// Commits of log-sized rows for 3 s with the checkpointer on its worker, as under load.
const insert = db.prepare("INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms) VALUES (?, ?, 'POST', '/v1/chat/completions', 200, 1)")
let n = 0
console.log(
  `commits for 3 s beside the checkpointer: ${await stalls(async () => {
    const end = performance.now() + 3_000
    while (performance.now() < end) {
      db.transaction(() => {
        for (let i = 0; i < 64; i++, n++) insert.run(Date.now(), `new-${n}`)
      })()
      await new Promise((resolve) => setImmediate(resolve))
    }
  })} (${n} rows)`,
)
await checkpoints.stop()
services.requestLog.stop()
await services.store.close()
