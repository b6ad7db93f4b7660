/**
 * The lookups a Responses request makes before its hold — findResponse (`previous_response_id`, GET/DELETE
 * /v1/responses/{id}) and findResponses (input items named by id) — first write the ids recorded before them
 * (BatchWriter.flushQueued), as Store.flushResponses does (stored-ids-flush-under-load.engine.ts), not every id
 * other requests record after them (BatchWriter.flush, which waits for as long as rows keep coming): on a busy
 * replica, a chained request's admission answers within a batch or two and still finds its own id.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let store: PostgresStore
beforeAll(async () => {
  pg = await startPostgres()
  store = await PostgresStore.open(await pg.database('find_stored_ids_under_load'), () => {})
  const now = Date.now()
  await (store as any).bounded`INSERT INTO users (id, spend, reserved, period_start, blocked, created_at, updated_at) VALUES ('u', 0, 0, 0, false, ${now}, ${now})`
}, 60_000)
afterAll(async () => {
  await store?.close()
  await pg?.destroy()
})

const row = (id: string, kind: 'item' | 'response' = 'item') => ({ id, kind, user_id: 'u', provider: 'p', model: 'p:m', context_tokens: 10, media_parts: 0, context_bytes: 10 })

/** Runs `lookup` while other answers keep recording ids (as the existing flush test does); returns how long it took. */
async function underLoad<T>(lookup: () => Promise<T>): Promise<{ waited: number; result: T | undefined }> {
  let done = false
  let result: T | undefined
  const started = performance.now()
  const answered = lookup().then((r) => {
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
  return { waited, result }
}

test('findResponses (items named by id) answers within 500 ms while other ids keep being recorded, and finds the item recorded before it', async () => {
  store.recordResponse(row('mine_item'), Date.now())
  const { waited, result } = await underLoad(() => store.findResponses(['mine_item'], 'item'))
  expect({ waitedUnder500ms: waited < 500, found: result?.map((r) => r.id) }).toEqual({ waitedUnder500ms: true, found: ['mine_item'] })
}, 30_000)

test('findResponse (previous_response_id) answers within 500 ms while other ids keep being recorded', async () => {
  store.recordResponse(row('mine_resp', 'response'), Date.now())
  const { waited, result } = await underLoad(() => store.findResponse('mine_resp', 'response'))
  expect({ waitedUnder500ms: waited < 500, found: result?.id }).toEqual({ waitedUnder500ms: true, found: 'mine_resp' })
}, 30_000)
