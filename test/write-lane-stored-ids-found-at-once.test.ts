/**
 * Mutation guard. Stored response ids (a response, its items) are recorded in the write queue's
 * lingering lane, written up to 5 ms later; every lookup writes what is queued first ("an id is found as soon as its
 * creator has seen it"). The batched lookup (findResponses: a request's input items, or every id a body names, one
 * query for them all) must flush too: without it an item id the client got back a moment ago, sent in the next
 * request's input, is not found and refused as another user's (client breakage: an agent's loop that chains turns
 * at once). findResponse (one id) is guarded by test/stored-id-not-found-under-lock-thread.alone.test.ts; this guards the
 * batched one.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'

let dir: string
let store: SqliteStore
beforeEach(() => {
  dir = tempDir()
  store = SqliteStore.open(join(dir, 'gateway.db'))
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

const item = (id: string) => ({
  id, kind: 'item' as const, user_id: 'u', provider: 'mock', model: 'mock:m', context_tokens: 10, media_parts: 0, context_bytes: 40, holds_audio: false, expires_with: 'resp_1',
})

test('items recorded a moment ago are found by the batched lookup at once, not after the linger', async () => {
  const now = Date.now()
  await store.db.insert(store.tables.users).values({ id: 'u', maxBudget: null, periodStart: 0, createdAt: now, updatedAt: now })
  store.recordResponse({ ...item('resp_1'), kind: 'response', expires_with: null }, now)
  store.recordResponse(item('msg_1'), now)
  store.recordResponse(item('msg_2'), now)
  expect(store.writes.queued).toBe(3) // lingering
  const found = await store.findResponses(['msg_1', 'msg_2', 'msg_unknown'], 'item')
  expect(found.map((r) => r.id).sort()).toEqual(['msg_1', 'msg_2'])
  expect(found.every((r) => r.user_id === 'u')).toBe(true)
})
