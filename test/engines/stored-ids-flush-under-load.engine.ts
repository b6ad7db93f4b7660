/**
 * Store.flushResponses is what a stored Responses answer waits for before its client gets it (the JSON answer, a
 * stream's final event): the ids recorded so far, not those other requests record after it. On Postgres it once
 * waited for everything queued, later rows included, written a round trip and a commit each: with ids arriving at
 * ~10k a second, one answer had not been given after 10 s. Now it waits for its own rows, written a batch per commit.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let store: PostgresStore
beforeAll(async () => {
  pg = await startPostgres()
  store = await PostgresStore.open(await pg.database('stored_ids_flush'), () => {})
  const now = Date.now()
  await (store as any).bounded`INSERT INTO users (id, spend, reserved, period_start, blocked, created_at, updated_at) VALUES ('u', 0, 0, 0, false, ${now}, ${now})`
}, 60_000)
afterAll(async () => {
  await store?.close()
  await pg?.destroy()
})

const row = (id: string) => ({ id, kind: 'item' as const, user_id: 'u', provider: 'p', model: 'p:m', context_tokens: 10, media_parts: 0, context_bytes: 10 })

test('flushResponses waits for the ids recorded before it, not for those other requests record after it', async () => {
  // Ours: one id, recorded and then flushed (as a reply does).
  store.recordResponse(row('mine'), Date.now())
  let done = false
  const started = performance.now()
  const flushed = store.flushResponses().then(() => {
    done = true
    return performance.now() - started
  })
  // Other answers' ids keep arriving while it waits (a busy replica: each response records itself and its items).
  let other = 0
  const until = performance.now() + 3_000
  while (!done && performance.now() < until) {
    for (let i = 0; i < 50; i++) store.recordResponse(row(`other_${other++}`), Date.now())
    await Bun.sleep(5)
  }
  const waited = await Promise.race([flushed, Bun.sleep(10_000).then(() => Infinity)])
  const [mine] = await (store as any).bounded`SELECT id FROM stored_responses WHERE id = 'mine'`
  expect(mine?.id).toBe('mine')
  expect({ waitedUnder500ms: waited < 500, otherRowsRecordedMeanwhile: other > 0 }).toEqual({ waitedUnder500ms: true, otherRowsRecordedMeanwhile: true })
}, 30_000)
