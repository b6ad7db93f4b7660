/**
 * The retention prune deletes expired stored ids on SQLite on the request thread, a batch at a time. A stored id is
 * random (resp_…, msg_…), so each row deleted is an index entry at a random place in the primary key's index, and
 * another in its user's: a step of 1,000 such rows took 51 ms among 240,000 and 65 ms among a million, and a /health
 * waited as long. Issue 15: no maintenance job delays a concurrent request by more than a
 * few ms; asserted by what the request thread ran while a /health waited (support/request-thread-hold).
 */
import { Database } from 'bun:sqlite'
import { afterAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { startGateway } from '../src/server'
import { tempDir, testConfig } from './support/gateway'
import { probeHealth, WorstProbe } from './support/request-thread-hold'

const DAY_MS = 86_400_000
/** Stored responses older than the retention, each with a random id, of one of USERS users. */
const EXPIRED = 300_000
const USERS = 1_000
/** How long /health is probed while the prune runs (it takes longer to delete them all). */
const PROBED_MS = 3_000
/**
 * The request thread's run while one /health waited: 63 ms with steps of 1,000 random ids; with steps sized to about
 * 1 ms (TimedSteps), 8–16 ms while the prune runs, and up to 24 ms for the commit that starts the WAL afresh after a
 * checkpoint (any writer's: it cuts the file back, some 0.4 ms a MB here).
 */
const HELD_MS = 40

const dir = tempDir()
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('the stored-response prune over random ids does not hold /health up for a batch of them', async () => {
  const config = testConfig({}, dir)
  await (await startGateway(config)).stop()

  const db = new Database(config.db)
  const now = Date.now()
  db.run(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO users (id, spend, reserved, blocked, period_start, created_at, updated_at) SELECT 'user-' || i, 0, 0, 0, 0, ?2, ?2 FROM n`,
    [USERS, now],
  )
  // 90 days old, past the 60-day retention, in the order they were stored.
  db.run(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO stored_responses (id, kind, user_id, provider, model, created_at, expires_with)
     SELECT 'resp_' || lower(hex(randomblob(16))), 'response', 'user-' || (1 + abs(random()) % ?2), 'mock', 'gpt-mock', ?3 + i, NULL FROM n`,
    [EXPIRED, USERS, now - 90 * DAY_MS],
  )
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  db.close()

  // A start prunes at once, in the background.
  const gw = await startGateway(config)
  const reader = new Database(config.db, { readonly: true })
  const left = () => (reader.query('SELECT count(*) AS n FROM stored_responses').get() as { n: number }).n
  try {
    const worst = new WorstProbe()
    const until = performance.now() + PROBED_MS
    while (performance.now() < until && left() > 0) worst.add(await probeHealth(gw.url))
    const pruned = EXPIRED - left()
    console.log(`${worst}; ${pruned} of ${EXPIRED} pruned meanwhile`)
    expect(pruned).toBeGreaterThan(0)
    expect(worst.held).toBeLessThan(HELD_MS)
  } finally {
    reader.close()
    await gw.stop()
  }
}, 60_000)
