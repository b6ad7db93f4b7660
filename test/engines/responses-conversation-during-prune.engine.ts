/**
 * Conversation turns while another replica, starting up (a rolling deploy), prunes the stored response ids past their
 * retention, a thousand at a time, batch after batch. Pruning stops no write (README: only an index build without
 * CONCURRENTLY, a VACUUM FULL, a LOCK TABLE does), so no conversation turn may be refused meanwhile. Each batch's
 * DELETE holds stored_responses in ROW EXCLUSIVE mode, which a conversation's lookup that took SHARE (100 ms at most,
 * else 503) waited for: turns were refused, and the rest went at a fifth of their pace.
 */
import { beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { postTurn, withConversationReplicas } from './support/conversation-replicas'

const h = withConversationReplicas('conversation_during_prune', 1)
let a: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>
beforeAll(() => {
  a = h.replicas[0]!
  sql = h.sql
})
const post = postTurn

test('a second replica starting with a backlog of expired stored ids to prune: conversation turns on the first are not refused meanwhile', async () => {
  const users = await Promise.all(Array.from({ length: 12 }, (_, i) => a.userWithKey({ id: `conv-prune-${i}`, max_budget: 10 })))
  // A year-old backlog: what a deployment that had retention off (or was down a while) holds.
  const old = Date.now() - 400 * 86_400_000
  await sql`INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio, created_at)
    SELECT 'resp_old_' || g, 'response', 'conv-prune-0', 'plain', 'm', 10, 0, 10, false, ${old} + g FROM generate_series(1, 100000) g`
  for (let i = 0; i < users.length; i++) {
    const s = await post(a.url, users[i]!.secret, { model: 'plain:m', input: `start conv_prune_${i}` })
    expect(s.status).toBe(200)
    await s.arrayBuffer()
  }
  let pruning = true
  let phase: 'before' | 'during' = 'before'
  const statuses = { before: {} as Record<string, number>, during: {} as Record<string, number> }
  const turns = users.map(async (u, i) => {
    for (let t = 0; pruning; t++) {
      const r = await post(a.url, u.secret, { model: 'plain:m', input: `t${t}`, conversation: `conv_prune_${i}` })
      await r.arrayBuffer()
      const seen = statuses[phase]
      seen[r.status] = (seen[r.status] ?? 0) + 1
    }
  })
  // The same load alone first, for 3 s: the control.
  await Bun.sleep(3_000)
  phase = 'during'
  const b = await spawnGateway({ config: h.config, env: { TOLLGATE_DATABASE_URL: h.url } })
  h.replicas.push(b)
  // Until B's startup prune is through the backlog.
  for (let i = 0; i < 600; i++) {
    const [left] = await sql`SELECT count(*)::int AS n FROM stored_responses WHERE id LIKE 'resp_old_%'`
    if (left.n === 0) break
    await Bun.sleep(100)
  }
  pruning = false
  await Promise.all(turns)
  const [left] = await sql`SELECT count(*)::int AS n FROM stored_responses WHERE id LIKE 'resp_old_%'`
  expect(left.n).toBe(0)
  console.log(statuses)
  // Control: the same turns without the prune are all served.
  expect(Object.keys(statuses.before)).toEqual(['200'])
  expect(Object.keys(statuses.during)).toEqual(['200'])
}, 120_000)

test('a prune batch not yet committed (its DELETE holds the table as any writer does): a conversation turn is served meanwhile', async () => {
  const { secret } = await a.userWithKey({ id: 'conv-prune-open', max_budget: 10 })
  const t1 = await post(a.url, secret, { model: 'plain:m', input: 'start conv_prune_open' })
  expect(t1.status).toBe(200)
  await t1.arrayBuffer()
  const prune = await sql.reserve()
  try {
    await prune`BEGIN`
    // A batch as StoredResponseRetention sends it, slow to commit (a large table, a slow disk): ROW EXCLUSIVE, held.
    await prune`DELETE FROM stored_responses WHERE id IN (SELECT id FROM stored_responses WHERE created_at < 0 LIMIT 1000)`
    const t2 = await post(a.url, secret, { model: 'plain:m', input: 'go on', conversation: 'conv_prune_open' })
    await t2.arrayBuffer()
    expect(t2.status).toBe(200)
  } finally {
    await prune`ROLLBACK`
    prune.release()
  }
}, 30_000)
