/**
 * A conversation's growth kept back by a lock on stored_responses, on one replica, and the next turn on another.
 *
 * README (Stored state): a conversation is sized by what each turn adds, "so that a request chained on it, or on its
 * conversation, is never held for less context than the provider will bill it"; a lock that stops the stored ids'
 * writes makes an answer wait and then be withheld (503 database_busy), paid all the same, "the ids are written once
 * the lock goes". SPEC §6: with cap-output on, `spend <= max_budget` is an invariant.
 *
 * A turn admitted by replica A before an index build and answered during it (SHARE lock: inserts wait, reads go on) is paid, and the
 * provider keeps its items in the conversation, but its growth of the conversation's row stays queued on A. The next
 * turn of the same conversation through replica B found the conversation's row at its size before that turn, and was
 * held for a fraction of what the provider reads: the provider was called, and the user spent past max_budget. Now a
 * conversation found while the stored ids cannot be written is refused 503 database_busy, and A's kept-back rows wait
 * for the lock themselves, so they land as it goes, before the client's next turn reaches B.
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
/** A long turn's answer waits for this: it is looked up and held before the index build, and answered during it. */
let answerLongTurn: Promise<void> = Promise.resolve()

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  answerAsConversations(upstream, conversations, (own) => (own > 1_000 ? answerLongTurn : undefined))
  const url = await pg.database('conversation_growth_lock')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    // 1 µ$ a token, in and out.
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

/**
 * Sends `body` through A; once the provider has it (A has looked its conversation up and held for it), another session
 * takes stored_responses in SHARE mode, as CREATE INDEX (without CONCURRENTLY) does, and the provider answers. Runs
 * `during` with that answer while the lock is held.
 */
async function answeredDuringIndexBuild<T>(secret: string, body: unknown, during: (turn: Response, end: () => Promise<void>) => Promise<T>): Promise<T> {
  let answer!: () => void
  answerLongTurn = new Promise((resolve) => (answer = resolve))
  const calls = upstream.calls.length
  const turn = post(a.url, secret, body)
  while (upstream.calls.length === calls) await Bun.sleep(5)
  const c = await sql.reserve()
  let ended: Promise<void> | null = null
  const end = () => (ended ??= c`ROLLBACK`.then(() => c.release()))
  try {
    await c`BEGIN`
    await c`LOCK TABLE stored_responses IN SHARE MODE`
    answer()
    return await during(await turn, end)
  } finally {
    answer()
    await end()
  }
}

test('the next turn of a conversation, through replica B, is held for the turn A answered during an index build (spend within max_budget, cap-output on)', async () => {
  const { secret } = await a.userWithKey({ id: 'conv-lock', max_budget: 1 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)

  // Turn 1, no lock: the conversation is recorded at ~21 tokens.
  const t1 = await post(a.url, secret, { model: 'plain:m', input: 'start conv_L', max_output_tokens: 16 })
  expect(t1.status).toBe(200)
  await t1.arrayBuffer()

  // Turn 2 through A: 600,000 tokens of input, held and paid ($0.60); the provider keeps them in the conversation.
  // Its answer is withheld (503 database_busy) since the conversation's growth cannot be written.
  const turn2 = { model: 'plain:m', input: 'y'.repeat(600_000), conversation: 'conv_L', max_output_tokens: 16 }
  const result = await answeredDuringIndexBuild(secret, turn2, async (t2) => {
    await t2.arrayBuffer()
    const callsBefore = upstream.calls.length
    // Turn 3 through B: the provider reads the whole conversation (600,000+ tokens, $0.60 on the ~$0.40 left).
    const t3 = await post(b.url, secret, { model: 'plain:m', input: 'go on', conversation: 'conv_L', max_output_tokens: 16 })
    await t3.arrayBuffer()
    return { t2: t2.status, t3: t3.status, t3CalledProvider: upstream.calls.length > callsBefore }
  })
  await a.settled()
  await b.settled()
  const user = (await a.admin('GET', '/v1/users/conv-lock')).body
  const rows = await sql`SELECT cost, reserved, status FROM usage WHERE user_id = 'conv-lock' ORDER BY id`
  const heldForWhatItCost = rows.map((u: any) => Number(u.cost) <= Number(u.reserved))
  // Turn 3 must be refused (402 budget_exceeded, or 503 before the call) rather than held at the conversation's stale size.
  expect({ t2: result.t2, t3CalledProvider: result.t3CalledProvider, withinBudget: user.spend <= 1, heldForWhatItCost })
    .toEqual({ t2: 503, t3CalledProvider: false, withinBudget: true, heldForWhatItCost: heldForWhatItCost.map(() => true) })
}, 60_000)

test('the index build over, the client retries the withheld turn\'s next turn at once through replica B: held for the withheld turn too', async () => {
  const { secret } = await a.userWithKey({ id: 'conv-after-lock', max_budget: 1 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  const t1 = await post(a.url, secret, { model: 'plain:m', input: 'start conv_M', max_output_tokens: 16 })
  expect(t1.status).toBe(200)
  await t1.arrayBuffer()
  // Turn 2 through A, withheld (503) after the 3 s deadline; paid ($0.60); the provider keeps it in the conversation.
  const turn2 = { model: 'plain:m', input: 'y'.repeat(600_000), conversation: 'conv_M', max_output_tokens: 16 }
  const result = await answeredDuringIndexBuild(secret, turn2, async (t2, end) => {
    await t2.arrayBuffer()
    // The index build ends; the client goes on at once, through B. No lock now.
    await end()
    const callsBefore = upstream.calls.length
    const t3 = await post(b.url, secret, { model: 'plain:m', input: 'go on', conversation: 'conv_M', max_output_tokens: 16 })
    await t3.arrayBuffer()
    return { t2: t2.status, t3: t3.status, t3CalledProvider: upstream.calls.length > callsBefore }
  })
  await a.settled()
  await b.settled()
  const user = (await a.admin('GET', '/v1/users/conv-after-lock')).body
  expect({ t2: result.t2, t3: result.t3, t3CalledProvider: result.t3CalledProvider, withinBudget: user.spend <= 1 })
    .toEqual({ t2: 503, t3: 402, t3CalledProvider: false, withinBudget: true })
}, 60_000)
