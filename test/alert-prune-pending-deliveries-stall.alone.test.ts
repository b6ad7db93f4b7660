/**
 * The audit retention's alert prune runs on the request thread, 1,000 alerts a batch (src/store/sqlite/alert-rows.ts
 * prune, via deleteInBatches), each batch meant to take a few milliseconds. Its NOT EXISTS over an alert's pending
 * deliveries must look them up by the alert (the primary key), not through alert_deliveries_due (status, …), which
 * reads every pending delivery for every old alert: 1,000 old alerts x 10,000 pending deliveries held every request
 * for seconds, at start and every hour.
 *
 * Measured by what the gateway's request thread ran while a /health waited (support/request-thread-hold): 18 ms on
 * a busy 2-core machine, 875 ms before.
 *
 * Pending deliveries pile up as the outbox was designed: a webhook taken out of the config leaves its deliveries
 * pending for a process that still has it, for ever; a receiver down for a day keeps every alert raised meanwhile
 * pending through its retries. Old alerts: an install's whole history, the first time a version that prunes starts.
 */
import { afterAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/db/open'
import { spawnGateway, tempDir, type SpawnedGateway } from './support/gateway'
import { probeHealth, WorstProbe } from './support/request-thread-hold'

const DAY = 86_400_000
const OLD_ALERTS = 3_000
const PENDING = 10_000
/** The gateway's request thread's run while one /health waited (see support/request-thread-hold). */
const HELD_MS = 150
const dir = tempDir('tollgate-alert-prune-stall-')
const dbPath = join(dir, 'tollgate.db')
let gw: SpawnedGateway | undefined
afterAll(async () => {
  await gw?.stop()
  rmSync(dir, { recursive: true, force: true })
})

function seed() {
  const db = openDatabase(dbPath)
  const client = db.$client
  const now = Date.now()
  const alert = client.prepare("INSERT INTO alerts (id, dedupe_key, kind, subject, payload, created_at, dedupe_until) VALUES (?, ?, 'unpriced_model', 'm', '{}', ?, ?)")
  const delivery = client.prepare("INSERT INTO alert_deliveries (alert_id, webhook, status, attempts, next_attempt_at) VALUES (?, 'ops-old', ?, ?, ?)")
  const log = client.prepare("INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms) VALUES (?, ?, 'POST', '/v1/chat/completions', 200, 5)")
  client.transaction(() => {
    // An install's history: alerts delivered long ago, past the 30-day retention and their dedupe time.
    for (let i = 0; i < OLD_ALERTS; i++) {
      const t = now - 90 * DAY + i * 60_000
      alert.run(`old_${i}`, `unpriced:m${i}:${t}`, t, t)
      delivery.run(`old_${i}`, 'delivered', 1, t)
    }
    // Yesterday's alerts, pending for the webhook since taken out of the config.
    for (let i = 0; i < PENDING; i++) {
      const t = now - DAY + i * 10
      alert.run(`new_${i}`, `holds_expired:${t}`, t, t)
      delivery.run(`new_${i}`, 'pending', 0, t)
    }
    // Old request-log rows, so that the prune (which starts with them) reaches the alerts once the port is open.
    for (let i = 0; i < 3_000; i++) log.run(now - 60 * DAY + i, `req_${i}`)
  })()
  client.close()
}

test('the alert prune never holds the request thread for seconds', async () => {
  seed()
  gw = await spawnGateway({ dbPath, env: { TOLLGATE_LOG_LEVEL: 'warn' } })
  const worst = new WorstProbe()
  const until = Date.now() + 10_000
  const reader = new Database(dbPath, { readonly: true })
  const oldLeft = () => (reader.query("SELECT count(*) AS n FROM alerts WHERE id LIKE 'old_%'").get() as { n: number }).n
  while (Date.now() < until) {
    worst.add(await probeHealth(gw.url, gw.proc.pid))
    if (oldLeft() === 0) break
    await Bun.sleep(10)
  }
  const left = oldLeft()
  reader.close()
  console.log(`while the prune ran: ${worst}; old alerts left: ${left} of ${OLD_ALERTS}`)
  expect(worst.held).toBeLessThan(HELD_MS)
  expect(left).toBe(0)
}, 60_000)
