/**
 * Two turns of one conversation at once on two replicas (parallel agents sharing a conversation, two tabs), for many
 * users, nothing holding stored_responses but the gateway itself. README: under ordinary load no turn is refused; 503
 * database_busy is for a lock that stops the stored ids' writes.
 *
 * Each replica's batch upserted its conversation rows in the order they were queued, each row waiting 100 ms at most:
 * replica A's batch [conv_X, conv_Y] and replica B's [conv_Y, conv_X] waited for each other until one gave up (55P03),
 * which counted as rows kept back by a lock on the table, and every conversation lookup on that replica, of every user,
 * was refused until the rows were sent again (330–425 of 1,600 turns). Now the rows go in id order and wait as long as
 * the table's lock does, and only a refusal of the table's lock keeps rows back.
 */
import { expect, test } from 'bun:test'
import { postTurn, withConversationReplicas } from './support/conversation-replicas'

// 1,600 turns on three replicas and one Postgres: beside the engine lane's other files on CI's 2 cores, 52 of them waited
// out the 3 s database deadline (503 database_unavailable), and answers withheld so kept their conversations' lookups
// refused (8, database_busy). The defect refused its lookups at once, whatever the deadline: this file allows 15 s.
const { replicas } = withConversationReplicas('redteam_gc_same_conv_burst', 3, undefined, { database_timeout_ms: 15_000 })
const post = postTurn

test('200 users, each taking 2 turns of one conversation at once on two replicas, 4 rounds: no turn refused 503', async () => {
  const USERS = 200
  const ROUNDS = 4
  const users = await Promise.all(Array.from({ length: USERS }, async (_, u) => {
    const { secret } = await replicas[0]!.userWithKey({ id: `same-conv-${u}`, max_budget: 10 })
    for (const r of replicas) expect((await fetch(`${r.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
    return secret
  }))
  const statuses: Record<string, number> = {}
  const codes: Record<string, number> = {}
  const count = async (r: Response) => {
    const body: any = await r.json()
    statuses[r.status] = (statuses[r.status] ?? 0) + 1
    if (r.status !== 200) codes[body.error?.code ?? '?'] = (codes[body.error?.code ?? '?'] ?? 0) + 1
  }
  await Promise.all(users.map(async (secret, u) => {
    const first = await post(replicas[u % 3]!.url, secret, { model: 'plain:m', input: `start conv_same_${u}`, max_output_tokens: 16 })
    await first.arrayBuffer()
  }))
  for (let t = 0; t < ROUNDS; t++)
    await Promise.all(users.flatMap((secret, u) => [0, 1].map(async (k) =>
      count(await post(replicas[(u + t + k) % 3]!.url, secret, { model: 'plain:m', input: `turn ${t}.${k}`, conversation: `conv_same_${u}`, max_output_tokens: 16 })))))
  expect({ statuses, codes }).toEqual({ statuses: { 200: USERS * ROUNDS * 2 }, codes: {} })
}, 120_000)
