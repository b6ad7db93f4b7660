/**
 * A burst of conversation turns from many users across 3 replicas, with nothing holding stored_responses but the
 * gateway itself. README: 503 database_busy is for "a lock that stops the stored ids' writes" (an index build without
 * CONCURRENTLY, a LOCK TABLE); under ordinary load no turn may be refused. A conversation's lookup that took SHARE (100
 * ms at most, else 503) waited for every replica's stored-id writes under way and made the writes behind it wait in
 * turn, one table-wide queue for all users: a few turns of such a burst were refused.
 */
import { expect, test } from 'bun:test'
import { postTurn, withConversationReplicas } from './support/conversation-replicas'

// 1,920 turns on three replicas and one Postgres beside other test files: in a four-worker engines run 146 of them waited
// out the 3 s database deadline or had their lookups refused behind answers withheld at it. The defect refused a lookup
// at a 100 ms lock wait, whatever the deadline: this file allows 15 s, as two-turns-at-once does.
const { replicas } = withConversationReplicas('conversation_burst', 3, undefined, { database_timeout_ms: 15_000 })
const post = postTurn

test('240 users each taking 8 conversation turns at once, round-robin over 3 replicas: no turn refused 503', async () => {
  const USERS = 240
  const TURNS = 8
  const users = await Promise.all(Array.from({ length: USERS }, async (_, u) => {
    const { secret } = await replicas[0]!.userWithKey({ id: `conv-burst-${u}`, max_budget: 10 })
    // Every replica knows the key before the burst.
    for (const r of replicas) expect((await fetch(`${r.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
    return secret
  }))
  const statuses: Record<string, number> = {}
  const codes: Record<string, number> = {}
  await Promise.all(users.map(async (secret, u) => {
    const first = await post(replicas[u % 3]!.url, secret, { model: 'plain:m', input: `start conv_burst_${u}`, max_output_tokens: 16 })
    await first.arrayBuffer()
    for (let t = 1; t < TURNS; t++) {
      const r = await post(replicas[(u + t) % 3]!.url, secret, { model: 'plain:m', input: `turn ${t}`, conversation: `conv_burst_${u}`, max_output_tokens: 16 })
      const body: any = await r.json()
      statuses[r.status] = (statuses[r.status] ?? 0) + 1
      if (r.status !== 200) codes[body.error?.code ?? '?'] = (codes[body.error?.code ?? '?'] ?? 0) + 1
    }
  }))
  expect({ statuses, codes }).toEqual({ statuses: { 200: USERS * (TURNS - 1) }, codes: {} })
}, 120_000)
