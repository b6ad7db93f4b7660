/**
 * A conversation turn while VACUUM, autovacuum, ANALYZE or CREATE INDEX CONCURRENTLY runs on stored_responses.
 *
 * Each holds SHARE UPDATE EXCLUSIVE for its whole run, which stops no write of stored ids (README, Scaling out: only
 * "a VACUUM FULL, an index build without CONCURRENTLY, a LOCK TABLE" does), so no growth can be kept back and a
 * conversation found is served. A conversation's lookup that took SHARE (to wait for the stored ids' writes) conflicted
 * with it: every conversation turn, of every user on every replica, was refused 503 database_busy for as long as the
 * vacuum or the concurrent build ran. Now a lookup takes no table lock; it asks pg_locks whether an insert waits.
 */
import { beforeAll, expect, test } from 'bun:test'
import type { SpawnedGateway } from '../support/gateway'
import { postTurn, withConversationReplicas } from './support/conversation-replicas'

const h = withConversationReplicas('conversation_during_vacuum', 1, 60_000)
let a: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>
beforeAll(() => {
  a = h.replicas[0]!
  sql = h.sql
})
const post = (secret: string, body: unknown) => postTurn(a.url, secret, body)

/** Runs `during` while another session holds what a running VACUUM / ANALYZE / CREATE INDEX CONCURRENTLY holds. */
async function duringMaintenance<T>(statement: string, during: () => Promise<T>): Promise<T> {
  const c = await sql.reserve()
  try {
    await c`BEGIN`
    // ANALYZE may run in a transaction block and keeps its SHARE UPDATE EXCLUSIVE lock until the block ends: the
    // lock an autovacuum worker holds for its whole visit (VACUUM itself cannot run in a block).
    await c.unsafe(statement)
    const [held] = await sql`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
      WHERE c.relname = 'stored_responses' AND l.mode = 'ShareUpdateExclusiveLock' AND l.granted`
    expect(held.n).toBe(1)
    return await during()
  } finally {
    await c`ROLLBACK`
    c.release()
  }
}

test('an ANALYZE (an autovacuum visit) of stored_responses does not stop writes, so a conversation turn is served, not 503', async () => {
  const { secret } = await a.userWithKey({ id: 'conv-vacuum', max_budget: 1 })
  const t1 = await post(secret, { model: 'plain:m', input: 'start conv_V', max_output_tokens: 16 })
  expect(t1.status).toBe(200)
  await t1.arrayBuffer()

  const result = await duringMaintenance('ANALYZE stored_responses', async () => {
    // Writes of stored ids go on meanwhile: this lock stops none (a new response is stored and answered).
    const plain = await post(secret, { model: 'plain:m', input: 'hello there', max_output_tokens: 16 })
    const plainBody: any = await plain.json()
    const t2 = await post(secret, { model: 'plain:m', input: 'go on', conversation: 'conv_V', max_output_tokens: 16 })
    const t2Body: any = await t2.json()
    return { plain: plain.status, plainId: plainBody.id?.startsWith('resp_') ?? false, conversationTurn: t2.status, error: t2Body.error?.code ?? null }
  })
  expect(result).toEqual({ plain: 200, plainId: true, conversationTurn: 200, error: null })
}, 60_000)

test('a real CREATE INDEX CONCURRENTLY on stored_responses (README: only one without CONCURRENTLY stops writes): conversation turns are served meanwhile', async () => {
  const { secret } = await a.userWithKey({ id: 'conv-cic', max_budget: 1 })
  const t1 = await post(secret, { model: 'plain:m', input: 'start conv_C', max_output_tokens: 16 })
  expect(t1.status).toBe(200)
  await t1.arrayBuffer()
  // A table of a busy deployment: enough rows that the build takes a few seconds on this machine.
  await sql`INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio, created_at)
    SELECT 'resp_bulk_' || g, 'response', 'conv-cic', 'plain', md5(g::text), 10, 0, 10, false, ${Date.now()} FROM generate_series(1, 400000) g`
  // Bun's queries are lazy: execute() sends it now.
  const build = sql.unsafe(`CREATE INDEX CONCURRENTLY stored_responses_by_model ON stored_responses (model, provider, context_bytes, created_at)`).execute()
  // Wait until the build holds its lock (and is past its first wait for older transactions).
  for (let i = 0; ; i++) {
    const [held] = await sql`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
      WHERE c.relname = 'stored_responses' AND l.mode = 'ShareUpdateExclusiveLock' AND l.granted`
    if (held.n > 0) break
    if (i > 400) throw new Error('the index build never took its lock')
    await Bun.sleep(5)
  }
  await Bun.sleep(50)
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) {
    const t = await post(secret, { model: 'plain:m', input: `turn ${i}`, conversation: 'conv_C', max_output_tokens: 16 })
    await t.arrayBuffer()
    statuses.push(t.status)
  }
  const [still] = await sql`SELECT count(*)::int AS n FROM pg_stat_progress_create_index`
  await build
  // The build was still running after the turns (else the test proves nothing).
  expect(still.n).toBe(1)
  expect(statuses).toEqual([200, 200, 200])
}, 120_000)
