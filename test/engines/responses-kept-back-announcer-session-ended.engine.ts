/**
 * A replica's announcing session ended while its growth is still kept back (pg_terminate_backend of an idle session,
 * idle_session_timeout, a proxy's or NAT's idle timeout: the session is idle by design while it holds its keys).
 * Postgres lets the keys go with it. Remembered only in memory as announced, nothing announced the growth any more:
 * whenever A's writer was not seen waiting for the table's lock (between tries; after the lock is granted and before the
 * commit, here stretched by an admin transaction on the user's row), replica B read the conversation at its size before
 * the paid, withheld turn and held the next turn for a few tokens while the provider read 600,000, spend passing
 * max_budget with cap-output on (SPEC §6). The announcing session, once closed, takes its keys again.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { answerAsConversations } from './support/conversation-provider'
import { startPostgres, type TestPostgres } from './support/postgres'
import { waitFor } from '../support/wait-for'

let pg: TestPostgres
let upstream: ScriptedUpstream
let a: SpawnedGateway
let b: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>

const conversations = new Map<string, number>()
let answerLongTurn: Promise<void> = Promise.resolve()

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  answerAsConversations(upstream, conversations, (own) => (own > 1_000 ? answerLongTurn : undefined))
  const url = await pg.database('redteam_gc_announce_lost')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } },
  }
  a = await spawnGateway({ config, env: { TOLLGATE_DATABASE_URL: url, TOLLGATE_CAP_OUTPUT_TOKENS: 'true' } })
  b = await spawnGateway({ config, env: { TOLLGATE_DATABASE_URL: url, TOLLGATE_CAP_OUTPUT_TOKENS: 'true' } })
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

test('A\'s announcing session ends while its growth is still kept back: A announces again, and B does not read the old size', async () => {
  const u = await b.userWithKey({ id: 'conv-k', max_budget: 1 })
  expect((await fetch(`${a.url}/v1/models`, { headers: { authorization: `Bearer ${u.secret}` } })).status).toBe(200)
  const t1 = await post(a.url, u.secret, { model: 'plain:m', input: 'start conv_K', max_output_tokens: 16 })
  expect(t1.status).toBe(200)
  await t1.arrayBuffer()

  // Turn 2 through A, 600,000 tokens ($0.60, paid), answered during an index build: withheld, A announces.
  let answer!: () => void
  answerLongTurn = new Promise((resolve) => (answer = resolve))
  const calls = upstream.calls.length
  const turn2 = post(a.url, u.secret, { model: 'plain:m', input: 'y'.repeat(600_000), conversation: 'conv_K', max_output_tokens: 16 })
  while (upstream.calls.length === calls) await Bun.sleep(5)
  const build = await sql.reserve()
  await build`BEGIN`
  await build`LOCK TABLE stored_responses IN SHARE MODE`
  answer()
  const t2 = await turn2
  await t2.arrayBuffer()
  expect(t2.status).toBe(503)

  // A's idle announcing session is ended (a DBA's pg_terminate_backend of idle sessions, idle_session_timeout, a
  // proxy's idle timeout). The index build still runs: A's rows are still kept back, and A still thinks it announces.
  const [holder] = await sql`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND 7201402 IN (classid, objid) AND granted`
  await sql`SELECT pg_terminate_backend(${holder.pid})`
  // A's writer keeps trying meanwhile (each try seen waiting); A's new session takes the key again, at the latest at the
  // announcer's check of its session (each second), which a loaded machine may make late.
  const announcedAgain = async () =>
    (await sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND 7201402 IN (classid, objid) AND granted AND pid <> ${holder.pid}`)[0].n === 1
  expect(await waitFor(3_000, announcedAgain)).toBe(true)

  // An admin transaction holds U's row FOR UPDATE (PATCH /v1/users/:id, PATCH /v1/keys/:id with max_budget) as the
  // index build ends: A's writer has the table's lock and waits for U's row (KEY SHARE), no insert waits in pg_locks.
  const admin = await sql.reserve()
  await admin`BEGIN`
  await admin`SELECT 1 FROM users WHERE id = 'conv-k' FOR UPDATE`
  await build`ROLLBACK`
  build.release()
  await Bun.sleep(50)

  // Turn 3 through B: the provider reads 600,000+ tokens ($0.60 on the $0.40 left).
  const before = upstream.calls.length
  const turn3 = post(b.url, u.secret, { model: 'plain:m', input: 'go on', conversation: 'conv_K', max_output_tokens: 16 })
  await Bun.sleep(150)
  await admin`ROLLBACK`
  admin.release()
  const t3 = await turn3
  await t3.arrayBuffer()
  const t3CalledProvider = upstream.calls.length > before
  await Bun.sleep(1_000)
  await a.settled()
  await b.settled()
  const user = (await a.admin('GET', '/v1/users/conv-k')).body
  expect({ t3CalledProvider, spend: user.spend, withinBudget: user.spend <= 1 }).toEqual({ t3CalledProvider: false, spend: user.spend, withinBudget: true })
}, 90_000)
