/**
 * A batch of stored response ids spans several users, and each row it inserts takes FOR KEY SHARE on its user's row
 * (the foreign key's check). Taken as the rows come, in the order they were queued, those locks crossed a reservation
 * batch's, which locks its users' rows in id order (src/store/postgres/lock-order.ts): the writer held one user's row
 * and waited for another's, which the batch held while it waited for the first. The writer's bounded lock wait
 * (100 ms) ended it, so every such crossing held that replica's reservations (every user's holds) 100 ms, and the
 * ids were written again later. The writer now takes its users' rows in id order before its first insert.
 *
 * The ledger's batches now lock users' rows FOR NO KEY UPDATE, which a foreign key's check does not wait for; the
 * crossing below stays possible with whatever still locks a user's row FOR UPDATE (a user's deletion), so the test
 * keeps a FOR UPDATE holder.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let store: PostgresStore
beforeAll(async () => {
  pg = await startPostgres()
  store = await PostgresStore.open(await pg.database('stored_responses_lock_order'), () => {})
  const now = Date.now()
  await store.sql`INSERT INTO users (id, period_start, created_at, updated_at) VALUES ('a', 0, ${now}, ${now}), ('b', 0, ${now}, ${now})`
}, 60_000)
afterAll(async () => {
  await store?.close()
  await pg?.destroy()
})

const response = (id: string, user_id: string) =>
  ({ id, kind: 'response', user_id, provider: 'mock', model: 'mock:m', context_tokens: 10, media_parts: 0, context_bytes: 10, holds_audio: false }) as const

test("a reservation batch gets its users' rows at once while a batch of stored ids for the same users waits for one of them", async () => {
  // A batch that locks users a and b FOR UPDATE in id order, a first.
  const batch = await store.sql.reserve()
  await batch`BEGIN`
  await batch`SELECT 1 FROM users WHERE id = 'a' FOR UPDATE`
  // Queued b's first: one batch of both.
  store.recordResponse(response('resp_b', 'b'), Date.now())
  store.recordResponse(response('resp_a', 'a'), Date.now())
  const written = store.flushResponses().catch(() => {})
  for (const until = Date.now() + 3_000; Date.now() < until; await Bun.sleep(10)) {
    const [{ waiting }] = await store.sql`
      SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`
    if (waiting > 0) break
  }
  // Not timed: a loaded machine stretches a round trip past the writer's 100 ms. NOWAIT says whether the writer holds b.
  const gotB = await batch`SELECT 1 FROM users WHERE id = 'b' FOR UPDATE NOWAIT`.then(
    () => 'at once',
    (e: { errno?: string }) => `refused ${e.errno}`,
  )
  await batch`COMMIT`
  batch.release()
  await written
  await store.flushResponses()
  const ids = (await store.sql`SELECT id FROM stored_responses ORDER BY id`).map((r: { id: string }) => r.id)
  expect({ gotB, ids }).toEqual({ gotB: 'at once', ids: ['resp_a', 'resp_b'] })
}, 30_000)
