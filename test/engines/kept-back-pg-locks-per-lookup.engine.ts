/**
 * Red team ju: README ("Stored responses", conversations on Postgres): "asked of `pg_locks` before the conversation is
 * read, once per 50 ms per replica". 2a316140 stopped sharing an answer that something is kept back (an insert waiting for the
 * lock) past its own round trip: while an index build (or LOCK TABLE) holds stored_responses, every
 * conversation lookup of the replica asks pg_locks itself, on the main pool the holds need, and each lookup still
 * waiting polls it every 5 ms. A steady stream of turns (here 1 every 5 ms for 1.5 s, ~300 turns) during a lock that
 * lasts costs ~one pg_locks scan per turn instead of ~one per 50 ms (~30), for the whole length of the build.
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

test('conversation lookups during a long lock on stored_responses ask pg_locks about once per 50 ms, as README says', async () => {
  const url = await pg.database('kept_back_per_lookup')
  const store = await PostgresStore.open(url, () => {}, 3_000)
  const pool = new SQL(url, { max: 10 })
  let asked = 0
  const counting = {
    unsafe(query: string, params?: unknown[]) {
      if (query.includes('pg_locks')) asked++
      return pool.unsafe(query, params as any[])
    },
  } as unknown as SQL
  const kept = new KeptBackIds(url, 3_000, counting, () => {})
  const direct = new SQL(url)
  const [builder, writer] = [await direct.reserve(), await direct.reserve()]
  try {
    // An index build (here a LOCK TABLE in SHARE mode, which CREATE INDEX takes) holds stored_responses; a replica's
    // insert of stored ids waits for it.
    await builder`BEGIN`
    await builder`LOCK TABLE stored_responses IN SHARE MODE`
    await writer`BEGIN`
    const inserting = (async () => await writer`LOCK TABLE stored_responses IN ROW EXCLUSIVE MODE`)()
    // Past the second after which lookups are refused at once (an index build, not a brief SHARE).
    await Bun.sleep(1_200)
    asked = 0
    // Conversation turns keep coming for 1.5 s of the build, one every 5 ms (~200/s over a replica).
    const lookups: Promise<boolean>[] = []
    const start = performance.now()
    let i = 0
    while (performance.now() - start < 1_500) {
      lookups.push(kept.conversation(`conv_${i++}`))
      await Bun.sleep(5)
    }
    const answers = await Promise.all(lookups)
    const elapsed = performance.now() - start
    const perFiftyMs = Math.ceil(elapsed / 50)
    console.log({ lookups: lookups.length, refused: answers.filter(Boolean).length, pgLocksQueries: asked, elapsedMs: Math.round(elapsed), readmeBound: perFiftyMs })
    // Refused while the build lasts, as README says (that part is right).
    expect(answers.every(Boolean)).toBe(true)
    // README: once per 50 ms per replica (twice that allowed for slack).
    expect(asked).toBeLessThanOrEqual(2 * perFiftyMs)
    await builder`COMMIT`
    await inserting
    await writer`COMMIT`
  } finally {
    await builder`ROLLBACK`.catch(() => {})
    await writer`ROLLBACK`.catch(() => {})
    builder.release()
    writer.release()
    await kept.close()
    await pool.close()
    await direct.close()
    await store.close()
  }
}, 60_000)
