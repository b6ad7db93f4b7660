/**
 * Users' deletions asked for together run their first batches in turns of their own, held back by the WAL or not.
 * deleteInBatches runs its first batch at once unless other jobs wait in yieldToRequests' line; an await put between
 * that look and the batch (roomToWrite, the WAL's hold-back) had every DELETE in flight look at an empty line and then
 * run its batch in the same turn, and held jobs woke together from timers of their own: 40 deletions of users with
 * 1,000 kept responses each held the request thread 0.4–0.8 s (51 ms before). test/maintenance-one-slice-per-turn
 * starts its jobs from separate timers and did not see it. The hold-back is set up by starting the gateway on a WAL
 * left past its limit.
 *
 * Bound: 150 ms. Measured since a user's deletion's first step takes 200 kept responses, not 1,000 (FIRST_STEP_ROWS:
 * 4 ms a step, not 30–40; the next ones are sized to about 1 ms): 50–81 ms, the turn the 40 DELETEs arrive in (their
 * handlers, then one first step) and the turns whose write starts the WAL afresh and cuts it (40–50 ms each); with the
 * wait for the line taken out, 189–282 ms. With 1,000 a step the same runs measured 78–116 ms, and a CI run on a slower
 * machine went past 150.
 */
import { afterAll, expect, test } from 'bun:test'
import { statSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/db/open'
import { spawnGateway, tempDir } from './support/gateway'
import { probeHealth, WorstProbe } from './support/request-thread-hold'

const USERS = 40
const STORED_EACH = 1_000
const OTHER_STORED = 200_000
const HELD_MS = 150
const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

async function fortyDeletions(walLeftPastLimit: boolean) {
  const dir = tempDir()
  dirs.push(dir)
  const dbPath = join(dir, 'tollgate.db')
  const seed = openDatabase(dbPath).$client
  const now = Date.now()
  seed.exec('PRAGMA wal_autocheckpoint = 0')
  seed.transaction(() => {
    seed.query("INSERT INTO users (id, spend, reserved, period_start, blocked, created_at, updated_at) VALUES ('platform', 0, 0, 0, 0, ?1, ?1)").run(now)
    seed.query(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO users (id, spend, reserved, period_start, blocked, created_at, updated_at) SELECT 'gone_' || i, 0, 0, 0, 0, ?2, ?2 FROM n`,
    ).run(USERS, now)
    // Kept responses (Responses API, store: true) at random places of a large table, as a real one's.
    seed.query(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, created_at)
       SELECT 'resp_' || lower(hex(randomblob(12))), 'response', CASE WHEN i <= ?2 THEN 'gone_' || (1 + i % ?3) ELSE 'platform' END,
              'mock', 'gpt-mock', 100, ?4 FROM n`,
    ).run(USERS * STORED_EACH + OTHER_STORED, USERS * STORED_EACH, USERS, now)
  })()
  // Past its limit: the seed left in the WAL, as a process killed during a flood leaves it (this connection stays
  // open, idle, so that its close does not copy the WAL back and delete it). Else copied back and cut.
  if (!walLeftPastLimit) seed.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  const walMb = (statSync(`${dbPath}-wal`, { throwIfNoEntry: false })?.size ?? 0) / 1e6

  const gw = await spawnGateway({ dbPath, env: { TOLLGATE_LOG_LEVEL: 'warn' } })
  try {
    const worst = new WorstProbe()
    const deletions = Array.from({ length: USERS }, (_, i) => gw.admin('DELETE', `/v1/users/gone_${i + 1}`))
    let done = false
    void Promise.all(deletions).then(() => (done = true))
    const until = performance.now() + 30_000
    while (!done && performance.now() < until) worst.add(await probeHealth(gw.url, gw.proc.pid))
    const answers = await Promise.all(deletions)
    const left = (seed.query("SELECT count(*) AS n FROM stored_responses WHERE user_id LIKE 'gone_%'").get() as { n: number }).n
    console.log(`WAL ${walMb.toFixed(0)} MB at the start; ${worst}; answers ${[...new Set(answers.map((a) => a.status))]}, kept responses left ${left}`)
    expect(answers.every((a) => a.status === 200)).toBe(true)
    expect(left).toBe(0)
    return { walMb, held: worst.held }
  } finally {
    await gw.stop()
    seed.close()
  }
}

test("40 users' deletions asked for together do not run their first batches in one turn", async () => {
  const { held } = await fortyDeletions(false)
  expect(held).toBeLessThan(HELD_MS)
}, 120_000)

test("40 users' deletions held back by the WAL are not let go to run a batch each in one turn", async () => {
  const { walMb, held } = await fortyDeletions(true)
  expect(walMb).toBeGreaterThan(21)
  expect(held).toBeLessThan(HELD_MS)
}, 120_000)
