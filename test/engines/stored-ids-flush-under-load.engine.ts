/**
 * On a busy replica, what waits for stored Responses ids waits for the ids recorded before it, not for those other
 * requests record after it (BatchWriter.flush waits for as long as rows keep coming; flushQueued does not):
 * - Store.flushResponses, what a stored Responses answer waits for before its client gets it (the JSON answer, a
 *   stream's final event). On Postgres it once waited for everything queued, written a round trip and a commit
 *   each: with ids arriving at ~10k a second, one answer had not been given after 10 s.
 * - The lookups a Responses request makes before its hold, findResponse (`previous_response_id`, GET/DELETE
 *   /v1/responses/{id}) and findResponses (input items named by id): they once took ~4 s under such load.
 * The load goes on for 3 s, which a wait for everything queued outlasts; 2 s are allowed (500 ms was: a four-worker
 * engines run took longer, on load alone).
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
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

// Each test starts with nothing queued: the rows an earlier test's load recorded are written first.
beforeEach(() => store.flushResponses())

const row = (id: string, kind: 'item' | 'response' = 'item') => ({ id, kind, user_id: 'u', provider: 'p', model: 'p:m', context_tokens: 10, media_parts: 0, context_bytes: 10, holds_audio: false })

/** Runs `wait` while other answers keep recording ids (each response records itself and its items); returns how long it took. */
async function underLoad<T>(wait: () => Promise<T>): Promise<{ waited: number; result: T | undefined; other: number }> {
  let done = false
  let result: T | undefined
  const started = performance.now()
  const answered = wait().then((r) => {
    done = true
    result = r
    return performance.now() - started
  })
  let other = 0
  const until = performance.now() + 3_000
  while (!done && performance.now() < until) {
    for (let i = 0; i < 50; i++) store.recordResponse(row(`other_${other++}`), Date.now())
    await Bun.sleep(5)
  }
  const waited = await Promise.race([answered, Bun.sleep(10_000).then(() => Infinity)])
  return { waited, result, other }
}

test('flushResponses waits for the ids recorded before it, not for those other requests record after it', async () => {
  // Ours: one id, recorded and then flushed (as a reply does).
  store.recordResponse(row('mine'), Date.now())
  const { waited, other } = await underLoad(() => store.flushResponses())
  const [mine] = await (store as any).bounded`SELECT id FROM stored_responses WHERE id = 'mine'`
  expect(mine?.id).toBe('mine')
  expect({ waitedUnder2s: waited < 2_000, otherRowsRecordedMeanwhile: other > 0 }).toEqual({ waitedUnder2s: true, otherRowsRecordedMeanwhile: true })
}, 30_000)

test('findResponses (items named by id) answers within 2 s while other ids keep being recorded, and finds the item recorded before it', async () => {
  store.recordResponse(row('mine_item'), Date.now())
  const { waited, result } = await underLoad(() => store.findResponses(['mine_item'], 'item'))
  expect({ waitedUnder2s: waited < 2_000, found: result?.map((r) => r.id) }).toEqual({ waitedUnder2s: true, found: ['mine_item'] })
}, 30_000)

test('findResponse (previous_response_id) answers within 2 s while other ids keep being recorded', async () => {
  store.recordResponse(row('mine_resp', 'response'), Date.now())
  const { waited, result } = await underLoad(() => store.findResponse('mine_resp', 'response'))
  expect({ waitedUnder2s: waited < 2_000, found: result?.id }).toEqual({ waitedUnder2s: true, found: 'mine_resp' })
}, 30_000)
