/**
 * A turn withheld while its user's row is held, and a replica killed with it: the growth must outlive the replica.
 *
 * A replica keeps a withheld conversation turn's growth in stored_response_growth so that a replica killed with it does
 * not lose it (responses-conversation-growth-replica-killed.engine.ts). The stored-id write is stopped as well by a
 * user's row held FOR UPDATE (a replica frozen mid-batch, which Postgres ends only after the 3 s deadline; an admin's
 * change of the user), and the answer withheld. The recording took that user's row FOR KEY SHARE too (its own lock
 * order, and the table's foreign key to users), gave up after its 100 ms lock wait and only logged it: the growth lived
 * in the replica's memory alone. Killed, the next turn on another replica was held at the conversation's size before
 * the withheld turn: the provider read 600,000 tokens on a hold of a few, and the user spent past max_budget with
 * cap-output on (SPEC §6).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { answerAsConversations } from './support/conversation-provider'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let a: SpawnedGateway
let b: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>

/** The provider's conversations: their sizes in tokens, grown by each turn's input and output. */
const conversations = new Map<string, number>()
/** The long turn's answer waits for this: it is held before the user's row is taken, and answered while it is. */
let answerLongTurn: Promise<void> = Promise.resolve()

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  answerAsConversations(upstream, conversations, (own) => (own > 1_000 ? answerLongTurn : undefined))
  const url = await pg.database('conversation_growth_user_row_locked')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } },
  }
  const env = { TOLLGATE_DATABASE_URL: url, TOLLGATE_CAP_OUTPUT_TOKENS: 'true' }
  a = await spawnGateway({ config, env })
  b = await spawnGateway({ config, env })
  sql = new Bun.SQL(url)
}, 60_000)

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await sql?.close()
  await upstream?.stop()
  await pg?.destroy()
})

const post = (url: string, secret: string, body: unknown) =>
  fetch(`${url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

async function turn(url: string, secret: string, body: unknown): Promise<{ status: number; calledProvider: boolean }> {
  const calls = upstream.calls.length
  const res = await post(url, secret, body)
  await res.arrayBuffer()
  return { status: res.status, calledProvider: upstream.calls.length > calls }
}

test('a turn withheld while its user\'s row is held FOR UPDATE keeps its growth: A killed, B holds the next turn for the whole conversation', async () => {
  const { secret } = await a.userWithKey({ id: 'conv-row-held', max_budget: 1 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  expect((await turn(a.url, secret, { model: 'plain:m', input: 'start conv_R', max_output_tokens: 16 })).status).toBe(200)

  // Turn 2 through A: 600,000 tokens, held ($0.60) before the row is taken; answered while another session (a replica
  // frozen mid-batch) holds the user's row FOR UPDATE.
  let answer!: () => void
  answerLongTurn = new Promise((resolve) => (answer = resolve))
  const calls = upstream.calls.length
  const t2 = post(a.url, secret, { model: 'plain:m', input: 'y'.repeat(600_000), conversation: 'conv_R', max_output_tokens: 16 })
  while (upstream.calls.length === calls) await Bun.sleep(5)
  const frozen = await sql.reserve()
  await frozen`BEGIN`
  await frozen`SELECT 1 FROM users WHERE id = 'conv-row-held' FOR UPDATE`
  answer()
  const res2 = await t2
  await res2.arrayBuffer()
  // Withheld: paid, kept by the provider, its growth not written.
  expect(res2.status).toBe(503)
  const [saved] = await sql`SELECT count(*)::int AS n FROM stored_response_growth WHERE conversation_id = 'conv_R'`

  // A is killed before the row is let go.
  a.proc.kill('SIGKILL')
  await a.proc.exited
  // Its announcement (KeptBackIds' advisory locks) ends with its sessions.
  for (let i = 0; i < 100; i++) {
    const [left] = await sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 7201402 AND granted`
    if (left.n === 0) break
    await Bun.sleep(20)
  }
  await frozen`ROLLBACK`
  frozen.release()

  // Turn 3 through B: the provider would read 600,000+ tokens ($0.60) on the ~$0.40 left.
  const t3 = await turn(b.url, secret, { model: 'plain:m', input: 'go on', conversation: 'conv_R', max_output_tokens: 16 })
  await b.settled()
  const [row] = await sql`SELECT context_tokens FROM stored_responses WHERE id = 'conv_R'`
  const user = (await b.admin('GET', '/v1/users/conv-row-held')).body
  expect({ savedGrowthRows: saved.n, t3, stored: Number(row.context_tokens), withinBudget: user.spend + user.reserved <= 1 }).toEqual({
    savedGrowthRows: 1,
    t3: { status: 402, calledProvider: false },
    stored: conversations.get('conv_R')!,
    withinBudget: true,
  })
}, 90_000)
