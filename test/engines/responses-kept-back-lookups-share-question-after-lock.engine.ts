/**
 * KeptBackIds asks pg_locks once for all the conversation lookups of FRESH_MS (pg_locks reads every backend's locks).
 * When a lock on stored_responses went, every lookup that had waited with it noted its own moment and asked "once
 * more" after it, so none shared the question the one before had just asked: 300 turns waiting out an older replica's
 * brief SHARE lock sent ~300 pg_locks queries at once on the main pool, the one holds need. Now they note the lock's
 * going by the answer that showed it, the same for all of them, and share the one question asked after it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { KeptBackIds } from '../../src/store/postgres/kept-back'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test('conversation lookups waiting out a brief lock ask pg_locks a few times, not once each, when it goes', async () => {
  const url = await pg.database('lookups_after_lock')
  const store = await PostgresStore.open(url, () => {}, 3_000)
  const pool = new SQL(url, { max: 10 })
  let asked = 0
  let askedAfterLock = 0
  let lockGone = false
  const counting = {
    unsafe(query: string, params?: unknown[]) {
      if (query.includes('pg_locks')) {
        asked++
        if (lockGone) askedAfterLock++
      }
      return pool.unsafe(query, params as any[])
    },
  } as unknown as SQL
  const kept = new KeptBackIds(url, 3_000, counting, () => {})
  const direct = new SQL(url)
  const [share, writer] = [await direct.reserve(), await direct.reserve()]
  try {
    // An older replica's lookup holds SHARE; an insert on stored_responses waits for it past 100 ms.
    await share`BEGIN`
    await share`LOCK TABLE stored_responses IN SHARE MODE`
    await writer`BEGIN`
    const inserting = (async () => await writer`LOCK TABLE stored_responses IN ROW EXCLUSIVE MODE`)()
    await Bun.sleep(200)
    // 300 conversation turns look their conversations up meanwhile: they wait with the insert.
    const lookups = Array.from({ length: 300 }, (_, i) => kept.conversation(`conv_${i}`))
    await Bun.sleep(300)
    const before = asked
    // The lock goes, the insert lands.
    lockGone = true
    const wentAt = performance.now()
    await share`COMMIT`
    await inserting
    await writer`COMMIT`
    const answers = await Promise.all(lookups)
    const drainMs = Math.round(performance.now() - wentAt)
    console.log({ whileWaiting: before, afterLockWent: askedAfterLock, refused: answers.filter(Boolean).length, drainMs })
    // All served (the lock was brief), and the lock's going costs a few shared questions, as waiting did.
    expect(answers.filter(Boolean)).toHaveLength(0)
    expect(askedAfterLock).toBeLessThan(30)
  } finally {
    await share`ROLLBACK`.catch(() => {})
    await writer`ROLLBACK`.catch(() => {})
    share.release()
    writer.release()
    await kept.close()
    await pool.close()
    await direct.close()
    await store.close()
  }
}, 60_000)
