/**
 * Conversation turns while another session takes stored_responses in SHARE mode for 150 ms at a time, over and over:
 * an older version's conversation lookup (8511a4a, `LOCK TABLE stored_responses IN SHARE MODE`, ROWS_LOCK_TIMEOUT_MS
 * to get it) as a loaded 2-core machine stretches it, on the same Postgres during a rolling deploy.
 *
 * Each such lock makes the stored-id inserts under way wait past 100 ms. A conversation lookup refused 503
 * database_busy whenever any insert had waited that long, for any conversation: in CI, 73 of 960 turns of
 * test/engines/rolling-deploy-conversation-turns.engine.ts; here ~8% of the turns. Now a lookup waits with such an
 * insert for the lock to go and reads the row once it has landed; only an insert kept waiting past a second (an index
 * build, not a lookup's lock) refuses it.
 *
 * A stream's ids are recorded as it begins, and sent by the writer on its own, trying the lock for 100 ms: every
 * lookup on the replica waited for that try and was refused 503 with it (an eighth to a half of the streamed turns
 * here). Now a lookup waits its replica's ids out as an answer does.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let a: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>
const encoder = new TextEncoder()

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  let n = 0
  upstream.answer(async ({ body }) => {
    const conversation: string = body.conversation ?? String(body.input).split(' ')[1]
    const id = `resp_${++n}`
    const message = { id: `msg_${n}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: 'k' }] }
    const response = {
      id, object: 'response', created_at: 1, status: 'completed', model: 'm', output: [message], store: true,
      conversation: { id: conversation },
      usage: { input_tokens: 30, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 31 },
    }
    if (!body.stream) return Response.json(response)
    const event = (e: Record<string, unknown>) => encoder.encode(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
    // The model writes for a moment after response.created: its ids are sent on their own meanwhile.
    const events = new ReadableStream({
      async start(c) {
        c.enqueue(event({ type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', output: [], usage: null } }))
        await Bun.sleep(20)
        c.enqueue(event({ type: 'response.completed', sequence_number: 1, response }))
        c.close()
      },
    })
    return new Response(events, { headers: { 'content-type': 'text/event-stream' } })
  })
  const url = await pg.database('rolling_brief_share_locks')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } },
    // Four copies of this file beside busy loops: up to 29 of 960 turns waited out a 3 s deadline (503
    // database_unavailable, or a stream's answer withheld at it). The refusals this file guards come at a lock wait of
    // 100 ms or a second, whatever the deadline.
    database_timeout_ms: 15_000,
  }
  a = await spawnGateway({ config, env: { TOLLGATE_DATABASE_URL: url, BUN_CONFIG_MAX_HTTP_REQUESTS: '2080' } })
  sql = new Bun.SQL(url, { max: 2 })
}, 60_000)

afterAll(async () => {
  await a?.stop()
  await sql?.close()
  await upstream?.stop()
  await pg?.destroy()
})

const post = (secret: string, body: unknown) =>
  fetch(`${a.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** Runs `during` while two sessions take stored_responses in SHARE mode for `holdMs` each, a moment apart, until it ends; with how many locks they took. */
async function underBriefShareLocks<T>(holdMs: number, during: () => Promise<T>): Promise<{ result: T; locks: number }> {
  let ended = false
  let locks = 0
  const lockers = [0, 1].map(async (i) => {
    for (let k = 0; !ended; k++) {
      await sql.begin(async (tx) => {
        await tx`LOCK TABLE stored_responses IN SHARE MODE`
        locks++
        await Bun.sleep(holdMs)
      })
      await Bun.sleep((k * 17 + i * 29) % 60)
    }
  })
  try {
    return { result: await during(), locks }
  } finally {
    ended = true
    await Promise.all(lockers)
  }
}

/** 240 users' conversations, each started and then taken 4 turns further, spread out, under brief SHARE locks: how their turns were answered. */
async function turnsUnderBriefShareLocks(name: string, stream: boolean): Promise<{ answers: Record<string, number>; locks: number }> {
  const USERS = 240
  const TURNS = 4
  const users = await Promise.all(Array.from({ length: USERS }, async (_, u) => (await a.userWithKey({ id: `${name}-${u}`, max_budget: 10 })).secret))
  const firsts = await Promise.all(users.map(async (secret, u) => {
    const first = await post(secret, { model: 'plain:m', input: `start conv_${name}_${u}`, max_output_tokens: 16 })
    await first.arrayBuffer()
    return first.status
  }))
  expect(firsts.every((status) => status === 200)).toBe(true)
  const answers: Record<string, number> = {}
  const { locks } = await underBriefShareLocks(150, () => Promise.all(users.map(async (secret, u) => {
    for (let t = 1; t <= TURNS; t++) {
      // Spread out, so that lookups come while inserts wait for a lock, not only as one goes.
      await Bun.sleep((u * 37 + t * 101) % 400)
      const r = await post(secret, { model: 'plain:m', input: `turn ${t}`, conversation: `conv_${name}_${u}`, max_output_tokens: 16, stream })
      const text = await r.text()
      const key = r.status !== 200 ? `${r.status} ${JSON.parse(text).error?.code ?? '?'}` : text.includes('"type":"error"') ? 'stream error' : '200'
      answers[key] = (answers[key] ?? 0) + 1
    }
  })))
  return { answers, locks }
}

test('240 users\' conversation turns while an older replica\'s lookups take the table in SHARE mode for 150 ms at a time: none refused', async () => {
  const { answers, locks } = await turnsUnderBriefShareLocks('json', false)
  expect(locks).toBeGreaterThan(5)
  expect(answers).toEqual({ '200': 960 })
}, 120_000)

test('the same, streamed: none refused', async () => {
  const { answers, locks } = await turnsUnderBriefShareLocks('streamed', true)
  expect(locks).toBeGreaterThan(5)
  expect(answers).toEqual({ '200': 960 })
}, 120_000)
