/**
 * POST /v1/alerts/:id/redeliver runs `UPDATE alert_deliveries ... WHERE alert_id = ? AND status =
 * 'failed'` (src/store/sqlite/alert-rows.ts `redeliver`) on the writer connection, on the request thread. SQLite
 * answers it through alert_deliveries_due (status, webhook, next_attempt_at) — `status = ?` — not the primary key
 * (alert_id, webhook): it walks every failed delivery of every alert, with a table lookup each for alert_id, to
 * re-arm one alert's. The prune's NOT EXISTS was kept off that index with a unary + for the same reason; this
 * statement was not. Failed deliveries are exactly what a webhook down for a while leaves (every alert of the
 * retention), and redelivering them one alert at a time is what an operator does once it is back. Measured by
 * what the gateway's request thread ran while a /health waited (support/request-thread-hold).
 */
import { afterAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/db/open'
import { MASTER_KEY, spawnGateway, tempDir, type SpawnedGateway } from './support/gateway'
import { probeHealth, quietThread, WorstProbe } from './support/request-thread-hold'

const DAY = 86_400_000
/** Alerts of the last weeks whose one webhook failed for good. */
const FAILED = 500_000
/**
 * The README promises a few ms (issue 15) and the brief's bar is 5 ms per kB of request: this request has no body.
 * Measured as the request thread's CPU time (not stretched by a busy machine): ~60 ms now, well under 1 ms through
 * the primary key.
 */
const HELD_MS = 25
const dir = tempDir('tollgate-redeliver-')
const dbPath = join(dir, 'tollgate.db')
let gw: SpawnedGateway | undefined
afterAll(async () => {
  await gw?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('redelivering one alert does not walk every failed delivery on the request thread', async () => {
  const db = openDatabase(dbPath)
  const client = db.$client
  const now = Date.now()
  client.transaction(() => {
    client
      .query(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO alerts (id, dedupe_key, kind, subject, payload, created_at, dedupe_until)
         SELECT 'alt_' || printf('%032x', i), 'holds_expired:' || i, 'holds_expired', NULL, '{"text":"t","data":{}}', ?2 + i, ?2 + i FROM n`,
      )
      .run(FAILED, now - 20 * DAY)
    client
      .query("INSERT INTO alert_deliveries (alert_id, webhook, status, attempts, next_attempt_at, last_error) SELECT id, 'ops', 'failed', 8, created_at, 'HTTP 502' FROM alerts")
      .run()
  })()
  client.close()

  gw = await spawnGateway({ dbPath, env: { TOLLGATE_LOG_LEVEL: 'warn' } })
  // Past the start's own work (the prune finds nothing to delete: every alert is within the retention), which on a
  // busy machine takes longer than a fixed second.
  await quietThread(gw.proc.pid)
  // A route's first request compiles its handler (Elysia composes handlers lazily): some 5–40 ms of the request
  // thread on a busy machine that are not the statement's. An unknown id is answered by the same route.
  const unknown = await fetch(`${gw.url}/v1/alerts/alt_unknown/redeliver`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` } })
  expect(unknown.status).toBe(404)
  await unknown.arrayBuffer()
  const id = `alt_${(FAILED - 7).toString(16).padStart(32, '0')}`
  // Each redelivery of the walk held the thread as long as the last (a query plan, not a chance): judged by the
  // middle one of five, so that one probe slowed by something else on a busy machine (a JIT tier, a collection)
  // does not decide it.
  const rounds: WorstProbe[] = []
  const answers: number[] = []
  for (let i = 0; i < 5; i++) {
    const worst = new WorstProbe()
    const res = fetch(`${gw.url}/v1/alerts/${id}/redeliver`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` } })
    let done = false
    void res.finally(() => (done = true))
    while (!done) worst.add(await probeHealth(gw.url, gw.proc.pid))
    const r = await res
    answers.push(r.status)
    if (i === 0) expect(((await r.json()) as { redelivering: number }).redelivering).toBe(1)
    else await r.arrayBuffer()
    rounds.push(worst)
  }
  rounds.sort((a, b) => a.held - b.held)
  console.log(`while redelivering: ${rounds.map(String).join('; ')}`)
  expect(answers).toEqual([200, 200, 200, 200, 200])
  expect(rounds[2]!.held).toBeLessThan(HELD_MS)
}, 120_000)
