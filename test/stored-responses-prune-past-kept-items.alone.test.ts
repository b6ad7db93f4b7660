/**
 * Conversations and the items of their turns are kept for ever, so on a gateway that has served conversations for
 * months the oldest stored ids are mostly kept rows. The retention prune deletes 1,000 expired rows at a time on
 * the request thread; each batch must go straight to rows it may delete, not step over every kept row older than
 * the cutoff first (a table lookup each): with a million of them that was some 400 ms a batch, a /health answer
 * held as long. Issue 15: no maintenance job delays a concurrent request by more than a few ms; asserted by what
 * the request thread ran while a /health waited (support/request-thread-hold): 11–18 ms on a busy 2-core machine;
 * before, 390 ms at 1.5 million kept rows.
 */
import { Database } from 'bun:sqlite'
import { afterAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { startGateway } from '../src/server'
import { tempDir, testConfig } from './support/gateway'
import { probeHealth, WorstProbe } from './support/request-thread-hold'

const DAY_MS = 86_400_000
/** Conversation items older than the retention: kept. */
const KEPT = 1_500_000
/** Stored responses older than the retention: pruned, a batch of 1,000 at a time. */
const EXPIRED = 20_000
/** The request thread's run while one /health waited (see support/request-thread-hold). */
const HELD_MS = 65

const dir = tempDir()
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('the stored-response prune does not hold /health up stepping over kept conversation items', async () => {
  const config = testConfig({}, dir)
  await (await startGateway(config)).stop()

  const db = new Database(config.db)
  const now = Date.now()
  db.run("INSERT INTO users (id, spend, reserved, blocked, period_start, created_at, updated_at) VALUES ('agent', 0, 0, 0, 0, ?, ?)", [now, now])
  const insert = db.query(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO stored_responses (id, kind, user_id, provider, model, created_at, expires_with)
     SELECT ?2 || i, ?3, 'agent', 'mock', 'gpt-mock', ?4 + i, NULL FROM n`,
  )
  // A conversation's turns' items, 200 days old; then responses 90 days old, past the 60-day retention.
  insert.run(KEPT, 'msg_', 'item', now - 200 * DAY_MS)
  insert.run(EXPIRED, 'resp_', 'response', now - 90 * DAY_MS)
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  db.close()

  // A start prunes at once, in the background.
  const gw = await startGateway(config)
  const reader = new Database(config.db, { readonly: true })
  const left = () => (reader.query("SELECT count(*) AS n FROM stored_responses WHERE kind = 'response'").get() as { n: number }).n
  try {
    const worst = new WorstProbe()
    const until = performance.now() + 8_000
    while (performance.now() < until && left() > 0) worst.add(await probeHealth(gw.url))
    console.log(`${worst}`)
    expect(left()).toBe(0)
    expect(worst.held).toBeLessThan(HELD_MS)
    expect(reader.query("SELECT count(*) AS n FROM stored_responses WHERE kind = 'item'").get()).toEqual({ n: KEPT })
  } finally {
    reader.close()
    await gw.stop()
  }
}, 60_000)
