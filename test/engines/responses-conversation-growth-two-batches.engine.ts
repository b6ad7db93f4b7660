/**
 * Two turns of one conversation answered on replica A during an index build, and the next turn on replica B as the
 * build ends (cap-output on: spend <= max_budget and cost <= reserved are promised).
 *
 * The first turn's growth is sent and waits for the lock; the second's queues behind it in A's writer (one batch at a
 * time). A lookup on B that waited for the writes under way (SHARE on stored_responses) was granted between A's first
 * batch and its second, and held the turn at the conversation's size without the second turn's growth: the provider
 * read it all, and billed past the hold. Now B's lookup is refused while a write waits, and A's batch, once it has
 * the lock, takes the rows queued behind it into the same commit.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let a: SpawnedGateway
let b: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>

const conversations = new Map<string, number>()
const gates = new Map<string, Promise<void>>()

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  let n = 0
  upstream.answer(async ({ body }) => {
    const text = String(body.input)
    const own = text.length
    const conversation: string = body.conversation ?? text.split(' ')[1]
    // The provider reads the conversation as it stands when the turn starts, and adds the turn's items as it ends.
    const input = (conversations.get(conversation) ?? 0) + own
    const gate = gates.get(text.slice(0, 2))
    if (gate) await gate
    conversations.set(conversation, (conversations.get(conversation) ?? 0) + own + 1)
    const id = `resp_${++n}`
    const message = { id: `msg_${n}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: 'k' }] }
    return Response.json({
      id, object: 'response', created_at: 1, status: 'completed', model: 'm', output: [message], store: true,
      conversation: { id: conversation },
      usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + 1 },
    })
  })
  const url = await pg.database('conversation_growth_two_batches')
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

const lockWaiters = async (mode: string) =>
  (await sql`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'stored_responses' AND l.mode = ${mode} AND NOT l.granted`)[0].n as number

test('two turns answered on A during an index build, the next on B as it ends: held for both turns\' growth', async () => {
  const { secret } = await a.userWithKey({ id: 'conv-two-batches', max_budget: 5 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  const t1 = await post(a.url, secret, { model: 'plain:m', input: 'start conv_S', max_output_tokens: 16 })
  expect(t1.status).toBe(200)
  await t1.arrayBuffer()

  let open2!: () => void
  let open3!: () => void
  gates.set('T2', new Promise((r) => (open2 = r)))
  gates.set('T3', new Promise((r) => (open3 = r)))
  const calls = upstream.calls.length
  // Turns 2 and 3, through A, admitted (held at the conversation's size) before the index build.
  const t2 = post(a.url, secret, { model: 'plain:m', input: 'T2 ' + 'y'.repeat(300_000), conversation: 'conv_S', max_output_tokens: 16 })
  const t3 = post(a.url, secret, { model: 'plain:m', input: 'T3 ' + 'z'.repeat(300_000), conversation: 'conv_S', max_output_tokens: 16 })
  while (upstream.calls.length < calls + 2) await Bun.sleep(5)

  const lock = await sql.reserve()
  await lock`BEGIN`
  await lock`LOCK TABLE stored_responses IN SHARE MODE`
  try {
    // Turn 2 answered: its ids' batch goes and waits for the lock.
    open2()
    while ((await lockWaiters('RowExclusiveLock')) === 0) await Bun.sleep(2)
    // Turn 3 answered: its growth queues behind the batch under way.
    open3()
    await Bun.sleep(150)
    // Turn 4 through B, as the build is about to end: the build ends once B's lookup waits for a lock on the table
    // (behind A's waiting batch) or B has answered.
    const callsBefore = upstream.calls.length
    let answered = false
    const t4 = post(b.url, secret, { model: 'plain:m', input: 'go on', conversation: 'conv_S', max_output_tokens: 16 }).finally(() => (answered = true))
    for (let i = 0; !answered && (await lockWaiters('ShareLock')) === 0; i++) {
      if (i > 2000) throw new Error('turn 4 neither waited for a lock nor was answered')
      await Bun.sleep(1)
    }
    await lock`ROLLBACK`
    lock.release()
    const [r2, r3, r4] = await Promise.all([t2, t3, t4])
    await Promise.all([r2.arrayBuffer(), r3.arrayBuffer(), r4.arrayBuffer()])
    await a.settled()
    await b.settled()
    const rows = await sql`SELECT cost, reserved, status FROM usage WHERE user_id = 'conv-two-batches' ORDER BY id`
    // Turn 4 either refused before the provider (503) or held for what the provider bills it.
    const turn4 = rows.at(-1) as any
    const t4Called = upstream.calls.length > callsBefore
    expect({ t4Called, heldForCost: !t4Called || Number(turn4.cost) <= Number(turn4.reserved) }).toEqual({ t4Called, heldForCost: true })
  } finally {
    open2()
    open3()
  }
}, 60_000)
