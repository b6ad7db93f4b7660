/**
 * Stored response ids are written by a BatchWriter with `retry: true`: a batch whose COMMIT reached Postgres and
 * committed, but whose answer was lost with the connection (a TCP reset, a proxy dropping it, a failover), is
 * sent again whole. An id recorded as it is (ON CONFLICT … coalesce) lands the same twice, but a conversation's
 * growth (`grow_by`, added to the size it has) must not be applied twice: that size is what the next request
 * continuing the conversation is held at, and charged at when no usage can be had (a client gone before the
 * first byte, a stream without usage: SPEC §6). The ledger's own batches guard likewise (a hold settles once;
 * log rows are not resent after a sent COMMIT: postgres-commit-answer-lost.engine.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import { openStore } from '../../src/store/open'
import { PostgresStore } from '../../src/store/postgres/store'
import { tempDir } from '../support/gateway'
import { commitCutter } from './support/commit-cutter'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

const conversation = { id: 'conv_1', kind: 'conversation' as const, user_id: 'u', provider: 'mock', model: 'mock:gpt-mock', media_parts: 0, holds_audio: false, expires_with: null }

test('a conversation growth whose COMMIT answer was lost is applied once, not twice', async () => {
  const url = await pg.database('growth_twice')
  const cutter = commitCutter(pg.port)
  const store = await PostgresStore.open(url.replace(`:${pg.port}/`, `:${cutter.port}/`), () => {}, 2_000)
  const direct = new Bun.SQL(url)
  try {
    const now = Date.now()
    await direct`INSERT INTO users (id, period_start, created_at, updated_at) VALUES ('u', 0, ${now}, ${now})`
    // Turn 1: the conversation is 1000 tokens (1000 bytes).
    store.recordResponse({ ...conversation, context_tokens: 1000, context_bytes: 1000 }, now)
    await store.flushResponses()
    // Turn 2 adds 500 tokens: 1500 in all. Its batch commits; the answer to its COMMIT is lost.
    cutter.arm()
    store.recordResponse({ ...conversation, context_tokens: 1500, context_bytes: 1500 }, now, { tokens: 500, mediaParts: 0, bytes: 500 })
    await store.flushResponses().catch(() => {})
    expect(cutter.cuts()).toBe(1)
    // The writer sends what it kept again (retry) until it is answered.
    for (let i = 0; i < 20; i++) {
      await store.flushResponses().catch(() => {})
      await Bun.sleep(50)
    }
    const [row] = await direct`SELECT context_tokens::int AS tokens, context_bytes::int AS bytes FROM stored_responses WHERE id = 'conv_1'`
    expect(row).toEqual({ tokens: 1500, bytes: 1500 })
  } finally {
    await store.close().catch(() => {})
    await direct.close()
    cutter.stop()
  }
}, 60_000)

test('a growth of a size unknown leaves the conversation size unknown, on Postgres as on SQLite', async () => {
  const dir = tempDir()
  const stores = {
    sqlite: await openStore({ db: join(dir, 'tollgate.db'), database_url: undefined, database_timeout_ms: 2_000 }),
    postgres: await openStore({ db: '', database_url: await pg.database('growth_unknown'), database_timeout_ms: 2_000 }),
  }
  try {
    const sizes: Record<string, unknown> = {}
    for (const [kind, store] of Object.entries(stores)) {
      const now = Date.now()
      await store.write((db) => db.insert(store.tables.users).values({ id: 'u', periodStart: 0, createdAt: now, updatedAt: now }))
      store.recordResponse({ ...conversation, context_tokens: 1000, context_bytes: 1000 }, now)
      store.recordResponse({ ...conversation, context_tokens: null, context_bytes: 1500 }, now, { tokens: 500, mediaParts: 0, bytes: 500 })
      const row = await store.findResponse('conv_1', 'conversation')
      sizes[kind] = { tokens: row?.context_tokens, bytes: row?.context_bytes }
    }
    expect(sizes).toEqual({ sqlite: { tokens: null, bytes: 1500 }, postgres: { tokens: null, bytes: 1500 } })
  } finally {
    await Promise.all(Object.values(stores).map((store) => store.close()))
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)
