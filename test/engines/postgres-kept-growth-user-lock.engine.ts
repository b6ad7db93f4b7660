/**
 * A conversation's growth kept back (stored_response_growth, kept-growth.ts) and its user's row. The table has no
 * foreign key to users: an insert checking one takes FOR KEY SHARE on the user's row, and a transaction holding it
 * FOR UPDATE (a replica frozen mid-batch, an admin's change) stopped the recording past its bounded lock wait, the
 * very case in which the stored-id write is stopped too and the answer withheld. So the user's deletion deletes its
 * growth itself, and a growth recorded after that deletion (no user left to apply it to) is dropped when read.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { recordKeptGrowth } from '../../src/store/postgres/kept-growth'
import type { QueuedResponse } from '../../src/store/postgres/stored-rows'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

const growth = (conversation: string, user: string, tokens: number): QueuedResponse => ({
  id: conversation, kind: 'conversation', user_id: user, provider: 'plain', model: 'm', context_tokens: tokens, media_parts: 0, context_bytes: tokens,
  holds_audio: false, created_at: Date.now(), grow_by: { tokens, mediaParts: 0, bytes: tokens },
})

async function withUser(store: PostgresStore, id: string): Promise<void> {
  const now = Date.now()
  await store.db.insert(store.tables.users).values({ id, maxBudget: 10_000, periodStart: 0, createdAt: now, updatedAt: now })
}

const keptFor = async (sql: InstanceType<typeof Bun.SQL>, conversation: string): Promise<number> =>
  (await sql`SELECT count(*)::int AS n FROM stored_response_growth WHERE conversation_id = ${conversation}`)[0].n

test('a growth is recorded while its user\'s row is held FOR UPDATE by another session', async () => {
  const url = await pg.database('kept_growth_user_row_held')
  const store = await PostgresStore.open(url)
  const sql = new Bun.SQL(url)
  const frozen = await sql.reserve()
  try {
    await withUser(store, 'held')
    await frozen`BEGIN`
    await frozen`SELECT 1 FROM users WHERE id = 'held' FOR UPDATE`
    await recordKeptGrowth(sql, [growth('conv_held', 'held', 600_000)])
    expect(await keptFor(sql, 'conv_held')).toBe(1)
  } finally {
    await frozen`ROLLBACK`
    frozen.release()
    await sql.close()
    await store.close()
  }
}, 60_000)

test('a user\'s deletion deletes the growth kept for it', async () => {
  const url = await pg.database('kept_growth_user_deleted')
  const store = await PostgresStore.open(url)
  const sql = new Bun.SQL(url)
  try {
    await withUser(store, 'leaving')
    await withUser(store, 'staying')
    await recordKeptGrowth(sql, [growth('conv_leaving', 'leaving', 500), growth('conv_staying', 'staying', 700)])
    expect(await store.deleteUser('leaving')).toBe(true)
    expect({ leaving: await keptFor(sql, 'conv_leaving'), staying: await keptFor(sql, 'conv_staying') }).toEqual({ leaving: 0, staying: 1 })
  } finally {
    await sql.close()
    await store.close()
  }
}, 60_000)

test('a growth recorded after its user was deleted is dropped by the lookup, the others of its conversation applied', async () => {
  const url = await pg.database('kept_growth_user_gone')
  const store = await PostgresStore.open(url)
  const sql = new Bun.SQL(url)
  try {
    await withUser(store, 'owner')
    await recordKeptGrowth(sql, [growth('conv_shared', 'owner', 800), growth('conv_shared', 'gone', 900_000), growth('conv_orphan', 'gone', 900_000)])
    const found = await store.findResponse('conv_shared', 'conversation')
    expect({ user: found?.user_id, tokens: found?.context_tokens }).toEqual({ user: 'owner', tokens: 800 })
    expect(await store.findResponse('conv_orphan', 'conversation')).toBeNull()
    expect({ shared: await keptFor(sql, 'conv_shared'), orphan: await keptFor(sql, 'conv_orphan') }).toEqual({ shared: 0, orphan: 0 })
  } finally {
    await sql.close()
    await store.close()
  }
}, 60_000)
