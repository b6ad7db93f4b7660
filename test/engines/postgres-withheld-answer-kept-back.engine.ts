/**
 * A stored request's answer waits for its ids to be written (flushResponses) and is withheld when they are not by
 * the deadline. Until they land, the replica counts them kept back (responsesKeptBack), so that its next stored
 * request asks whether the ids can be written (NOWAIT) before any hold or provider call (refuseWhileKeptBack), rather
 * than be paid and withheld again. It counted them so only when the writer's last try had been refused for the
 * table's lock (Postgres's lock_timeout on LOCK TABLE); a try that ended any other way, or had not ended yet, left the
 * replica asking nothing (an engines run with five workers: the next request went to the provider). Here the try ends
 * on another lock: its user's row, which a user's deletion holds FOR UPDATE.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'

const DEADLINE = 1_000
let pg: TestPostgres
let store: PostgresStore
beforeAll(async () => {
  pg = await startPostgres()
  store = await PostgresStore.open(await pg.database('withheld_answer_kept_back'), () => {}, DEADLINE)
  const now = Date.now()
  await store.sql`INSERT INTO users (id, period_start, created_at, updated_at) VALUES ('u', 0, ${now}, ${now})`
}, 60_000)
afterAll(async () => {
  await store?.close()
  await pg?.destroy()
})

test('ids a withheld answer waited for are kept back until written, whatever kept them', async () => {
  const deleting = await store.sql.reserve()
  try {
    await deleting`BEGIN`
    // Its own session outlives the store's deadline, which a loaded machine's wait for the ids can pass.
    await deleting`SELECT set_config('idle_in_transaction_session_timeout', '0', true)`
    await deleting`SELECT 1 FROM users WHERE id = 'u' FOR UPDATE`
    expect(store.responsesKeptBack()).toBe(false)
    store.recordResponse({ id: 'resp_1', kind: 'response', user_id: 'u', provider: 'mock', model: 'mock:m', context_tokens: 10, media_parts: 0, context_bytes: 10, holds_audio: false }, Date.now())
    const answer = await store.flushResponses().then(() => 'written', () => 'withheld')
    expect({ answer, keptBack: store.responsesKeptBack() }).toEqual({ answer: 'withheld', keptBack: true })
  } finally {
    await deleting`ROLLBACK`
    deleting.release()
  }
  // The row let go: the writer's next try writes the id, and nothing is kept back any more.
  await store.flushResponses()
  const ids = (await store.sql`SELECT id FROM stored_responses`).map((r: { id: string }) => r.id)
  expect({ ids, keptBack: store.responsesKeptBack() }).toEqual({ ids: ['resp_1'], keptBack: false })
}, 30_000)
