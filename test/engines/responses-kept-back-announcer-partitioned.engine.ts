/**
 * A replica cut off from Postgres (a partition, a paused VM or container) while it announces a conversation whose
 * growth it keeps back (KeptBackIds). Postgres keeps the replica's idle session, and so what it announces, until TCP
 * gives up on it. Announced under one key for all conversations, that refused every conversation turn of every user
 * on every other replica meanwhile (503 database_busy): fix-fz's "turns are served during maintenance" undone by one
 * replica's outage. Each conversation is announced under a key of its own: only the one kept back is refused.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { answerAsConversations } from './support/conversation-provider'
import { startPostgres, type TestPostgres } from './support/postgres'
import { startTcpRelay, type TcpRelay } from './support/tcp-relay'

let pg: TestPostgres
let upstream: ScriptedUpstream
let relay: TcpRelay
let a: SpawnedGateway
let b: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>

const conversations = new Map<string, number>()
let answerLongTurn: Promise<void> = Promise.resolve()

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  answerAsConversations(upstream, conversations, (own) => (own > 1_000 ? answerLongTurn : undefined))
  const url = await pg.database('redteam_gc_announce_partitioned')
  relay = startTcpRelay(pg.port)
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } },
  }
  a = await spawnGateway({ config, env: { TOLLGATE_DATABASE_URL: url.replace(`:${pg.port}/`, `:${relay.port}/`), TOLLGATE_CAP_OUTPUT_TOKENS: 'true' } })
  b = await spawnGateway({ config, env: { TOLLGATE_DATABASE_URL: url, TOLLGATE_CAP_OUTPUT_TOKENS: 'true' } })
  sql = new Bun.SQL(url)
}, 60_000)

afterAll(async () => {
  relay?.thaw()
  await Promise.all([a?.stop(), b?.stop()])
  await sql?.close()
  relay?.stop()
  await upstream?.stop()
  await pg?.destroy()
})

const post = (url: string, secret: string, body: unknown) =>
  fetch(`${url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('replica A partitioned while announcing kept-back ids: another user\'s conversation on replica B is served once the lock is gone', async () => {
  const u = await b.userWithKey({ id: 'conv-u', max_budget: 10 })
  const v = await b.userWithKey({ id: 'conv-v', max_budget: 10 })
  expect((await fetch(`${a.url}/v1/models`, { headers: { authorization: `Bearer ${u.secret}` } })).status).toBe(200)

  // User U, turn 1 through A; user V, turn 1 through B (no lock).
  for (const [gw, secret, conv] of [[a, u.secret, 'conv_U'], [b, v.secret, 'conv_V']] as const) {
    const r = await post(gw.url, secret, { model: 'plain:m', input: `start ${conv}`, max_output_tokens: 16 })
    expect(r.status).toBe(200)
    await r.arrayBuffer()
  }

  // U's turn 2 through A, answered during an index build: withheld (503) after the deadline, A announces.
  let answer!: () => void
  answerLongTurn = new Promise((resolve) => (answer = resolve))
  const calls = upstream.calls.length
  const turn2 = post(a.url, u.secret, { model: 'plain:m', input: 'y'.repeat(5_000), conversation: 'conv_U', max_output_tokens: 16 })
  while (upstream.calls.length === calls) await Bun.sleep(5)
  const c = await sql.reserve()
  await c`BEGIN`
  await c`LOCK TABLE stored_responses IN SHARE MODE`
  answer()
  const t2 = await turn2
  await t2.arrayBuffer()
  expect(t2.status).toBe(503)
  const [announced] = await sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND 7201402 IN (classid, objid) AND granted`
  expect(announced.n).toBe(1)

  // A's network to the database goes; then the index build ends.
  relay.freeze()
  await c`ROLLBACK`
  c.release()

  // User V, nothing to do with A's kept-back growth, continues conv_V through B, retrying 503s for 5 s as an SDK would.
  const statuses: number[] = []
  const codes: string[] = []
  const until = Date.now() + 5_000
  while (Date.now() < until) {
    const r = await post(b.url, v.secret, { model: 'plain:m', input: 'go on', conversation: 'conv_V', max_output_tokens: 16 })
    const text = await r.text()
    statuses.push(r.status)
    codes.push(r.status === 200 ? 'ok' : String(JSON.parse(text)?.error?.code ?? text.slice(0, 80)))
    if (r.status === 200) break
    await Bun.sleep(500)
  }
  expect({ lastStatus: statuses.at(-1), lastCode: codes.at(-1), tries: statuses.length }).toEqual({ lastStatus: 200, lastCode: 'ok', tries: statuses.length })

  // U's conversation, whose growth A still keeps back, is still refused on B.
  const before = upstream.calls.length
  const u3 = await post(b.url, u.secret, { model: 'plain:m', input: 'go on', conversation: 'conv_U', max_output_tokens: 16 })
  expect({ status: u3.status, code: ((await u3.json()) as any).error?.code, calledProvider: upstream.calls.length > before })
    .toEqual({ status: 503, code: 'database_busy', calledProvider: false })
}, 90_000)
