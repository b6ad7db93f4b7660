/**
 * A replica killed while it keeps a conversation's growth back, and the next turns on another replica.
 *
 * A turn answered by replica A during an index build (SHARE lock: inserts wait) is paid and kept by the provider, but
 * its growth of the conversation's row cannot be written: the answer is withheld (503 database_busy) and A announces
 * the growth unwritten (KeptBackIds) until it lands. The growth lived in A's memory only, and the announcement in its
 * session: A killed -9 (or stopped past its grace) before the lock went lost both, and replica B read the
 * conversation at its size before that turn, held the next turn for a few tokens while the provider read 600,000, and
 * the user spent past max_budget with cap-output on (SPEC §6). A now writes the growth where the lock does not reach
 * (stored_response_growth) before withholding the answer, and any replica reads the conversation with it.
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
/** A second replica to kill, for the last test (A is killed in the one before). */
let a2: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>

/** The provider's conversations: their sizes in tokens, grown by each turn's input and output. */
const conversations = new Map<string, number>()
/** A long turn's answer waits for this: it is looked up and held before the index build, and answered during it. */
let answerLongTurn: Promise<void> = Promise.resolve()

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  answerAsConversations(upstream, conversations, (own) => (own > 1_000 ? answerLongTurn : undefined))
  const url = await pg.database('conversation_growth_replica_killed')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    // 1 µ$ a token, in and out.
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } },
  }
  const env = { TOLLGATE_DATABASE_URL: url, TOLLGATE_CAP_OUTPUT_TOKENS: 'true' }
  a = await spawnGateway({ config, env })
  b = await spawnGateway({ config, env })
  a2 = await spawnGateway({ config, env })
  sql = new Bun.SQL(url)
}, 60_000)

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), a2?.stop()])
  await sql?.close()
  await upstream?.stop()
  await pg?.destroy()
})

const post = (url: string, secret: string, body: unknown) =>
  fetch(`${url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

/**
 * Sends a 600,000-token turn through `url`; once the provider has it (held for it), another session takes
 * stored_responses in SHARE mode, as CREATE INDEX does, and the provider answers: the answer is withheld after the
 * deadline. Returns its status and the session holding the lock, for the caller to end.
 */
async function longTurnDuringIndexBuild(url: string, secret: string, conversation: string) {
  let answer!: () => void
  answerLongTurn = new Promise((resolve) => (answer = resolve))
  const calls = upstream.calls.length
  const turn = post(url, secret, { model: 'plain:m', input: 'y'.repeat(600_000), conversation, max_output_tokens: 16 })
  while (upstream.calls.length === calls) await Bun.sleep(5)
  const build = await sql.reserve()
  await build`BEGIN`
  await build`LOCK TABLE stored_responses IN SHARE MODE`
  answer()
  const res = await turn
  await res.arrayBuffer()
  const end = async () => {
    await build`ROLLBACK`
    build.release()
  }
  return { status: res.status, end }
}

/** Whether a turn through `url` reached the provider, and how it was answered. */
async function turn(url: string, secret: string, body: unknown): Promise<{ status: number; calledProvider: boolean }> {
  const calls = upstream.calls.length
  const res = await post(url, secret, body)
  await res.arrayBuffer()
  return { status: res.status, calledProvider: upstream.calls.length > calls }
}

test('A\'s own write of a withheld turn\'s growth, once the lock goes, counts it once: B holds the next turn for the whole conversation', async () => {
  const { secret } = await a.userWithKey({ id: 'conv-written', max_budget: 1 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  expect((await turn(a.url, secret, { model: 'plain:m', input: 'start conv_W', max_output_tokens: 16 })).status).toBe(200)
  const t2 = await longTurnDuringIndexBuild(a.url, secret, 'conv_W')
  expect(t2.status).toBe(503)
  await t2.end()
  const t3 = await turn(b.url, secret, { model: 'plain:m', input: 'go on', conversation: 'conv_W', max_output_tokens: 16 })
  const [row] = await sql`SELECT context_tokens FROM stored_responses WHERE id = 'conv_W'`
  expect({ t3, stored: Number(row.context_tokens) }).toEqual({ t3: { status: 402, calledProvider: false }, stored: conversations.get('conv_W')! })
}, 60_000)

test('A killed -9 while it keeps a turn\'s growth back: B refuses the conversation while the lock lasts, then holds its next turn for the whole of it', async () => {
  const { secret } = await a.userWithKey({ id: 'conv-killed', max_budget: 1 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)

  // Turn 1, no lock: the conversation is recorded at ~21 tokens.
  expect((await turn(a.url, secret, { model: 'plain:m', input: 'start conv_K', max_output_tokens: 16 })).status).toBe(200)

  // Turn 2 through A: 600,000 tokens, held and paid ($0.60), answered during an index build: withheld, its growth kept back.
  const t2 = await longTurnDuringIndexBuild(a.url, secret, 'conv_K')
  expect(t2.status).toBe(503)

  // A is killed: Postgres ends its sessions, its writer's wait and its announcement with them.
  a.proc.kill('SIGKILL')
  await a.proc.exited
  for (let i = 0; i < 100; i++) {
    const [left] = await sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 7201402 AND granted`
    if (left.n === 0) break
    await Bun.sleep(20)
  }

  // Turn 3 through B while the index build still runs: the provider would read 600,000+ tokens ($0.60 on the ~$0.40 left).
  const t3 = await turn(b.url, secret, { model: 'plain:m', input: 'go on', conversation: 'conv_K', max_output_tokens: 16 })

  // The index build ends; the client's next turn, through B, is held for the whole conversation: 402.
  await t2.end()
  const t4 = await turn(b.url, secret, { model: 'plain:m', input: 'go on', conversation: 'conv_K', max_output_tokens: 16 })

  await b.settled()
  const user = (await b.admin('GET', '/v1/users/conv-killed')).body
  const rows = await sql`SELECT cost, reserved FROM usage WHERE user_id = 'conv-killed' ORDER BY id`
  const heldForWhatItCost = rows.map((u: any) => Number(u.cost) <= Number(u.reserved))
  const [row] = await sql`SELECT context_tokens FROM stored_responses WHERE id = 'conv_K'`
  // The size stored is the provider's: the withheld turn's growth counted, once.
  expect({ t3, t4, withinBudget: user.spend <= 1, heldForWhatItCost, stored: Number(row.context_tokens) }).toEqual({
    t3: { status: 503, calledProvider: false },
    t4: { status: 402, calledProvider: false },
    withinBudget: true,
    heldForWhatItCost: heldForWhatItCost.map(() => true),
    stored: conversations.get('conv_K')!,
  })
}, 90_000)

test('A killed -9 while a turn\'s answer still waits for the lock (before it is withheld): B holds the next turn for the whole conversation', async () => {
  const { secret } = await a2.userWithKey({ id: 'conv-waiting', max_budget: 1 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  expect((await turn(a2.url, secret, { model: 'plain:m', input: 'start conv_V', max_output_tokens: 16 })).status).toBe(200)

  // Turn 2 through A: answered during an index build, its answer waiting for the lock (3 s at most) when A is killed.
  let answer!: () => void
  answerLongTurn = new Promise((resolve) => (answer = resolve))
  const calls = upstream.calls.length
  const turn2 = post(a2.url, secret, { model: 'plain:m', input: 'y'.repeat(600_000), conversation: 'conv_V', max_output_tokens: 16 }).then(
    (res) => res.status,
    () => 'reset',
  )
  while (upstream.calls.length === calls) await Bun.sleep(5)
  const build = await sql.reserve()
  await build`BEGIN`
  await build`LOCK TABLE stored_responses IN SHARE MODE`
  answer()
  for (;;) {
    const [waiting] = await sql`SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'stored_responses'::regclass AND mode = 'RowExclusiveLock' AND NOT granted`
    if (waiting.n > 0) break
    await Bun.sleep(10)
  }
  a2.proc.kill('SIGKILL')
  await a2.proc.exited
  expect(await turn2).toBe('reset')
  await build`ROLLBACK`
  build.release()

  const t3 = await turn(b.url, secret, { model: 'plain:m', input: 'go on', conversation: 'conv_V', max_output_tokens: 16 })
  const [row] = await sql`SELECT context_tokens FROM stored_responses WHERE id = 'conv_V'`
  expect({ t3, stored: Number(row.context_tokens) }).toEqual({ t3: { status: 402, calledProvider: false }, stored: conversations.get('conv_V')! })
}, 60_000)
